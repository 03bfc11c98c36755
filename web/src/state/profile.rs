//! The account page's form: the profile as typed, checked with the server's own rules before
//! anything is sent, and turned into a `PATCH` of only the fields that changed.

use lifeline_types::profile::{Profile, ProfileUpdate};

use super::validation::FieldError;

/// The values the server accepts for `gender`, with their labels.
pub const GENDERS: [(&str, &str); 5] = [
    ("", "Not given"),
    ("female", "Female"),
    ("male", "Male"),
    ("other", "Other"),
    ("unspecified", "Prefer not to say"),
];

/// The profile form as typed; empty text means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileForm {
    /// Full name (required).
    pub name: String,
    /// Phone number.
    pub phone: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// One of [`GENDERS`].
    pub gender: String,
    /// Postal address.
    pub address: String,
}

impl ProfileForm {
    /// The form filled from the server's profile.
    pub fn from_profile(p: &Profile) -> Self {
        Self {
            name: p.name.clone(),
            phone: p.phone.clone().unwrap_or_default(),
            date_of_birth: p.date_of_birth.clone().unwrap_or_default(),
            gender: p.gender.clone().unwrap_or_default(),
            address: p.address.clone().unwrap_or_default(),
        }
    }

    /// What is wrong, field by field, by the server's rules; `today` is `YYYY-MM-DD`.
    pub fn check(&self, today: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.push(FieldError {
                field: "name",
                message: "Enter your name (up to 100 characters)",
            });
        }
        let phone = self.phone.trim();
        if !phone.is_empty() {
            let digits = phone.chars().filter(char::is_ascii_digit).count();
            let allowed = phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c));
            if !allowed || !(7..=15).contains(&digits) || phone.len() > 32 {
                errors.push(FieldError {
                    field: "phone",
                    message: "Enter a phone number of 7 to 15 digits",
                });
            }
        }
        let dob = self.date_of_birth.trim();
        if !dob.is_empty() {
            match parse_date(dob) {
                None => errors.push(FieldError {
                    field: "date_of_birth",
                    message: "Enter the date as YYYY-MM-DD",
                }),
                Some(date) if Some(date) > parse_date(today) => errors.push(FieldError {
                    field: "date_of_birth",
                    message: "The date of birth cannot be in the future",
                }),
                Some(date) if parse_date(today).is_some_and(|t| t.year() - date.year() > 130) => {
                    errors.push(FieldError {
                        field: "date_of_birth",
                        message: "Enter a date within the last 130 years",
                    })
                }
                Some(_) => {}
            }
        }
        if !GENDERS.iter().any(|(v, _)| *v == self.gender.trim()) {
            errors.push(FieldError {
                field: "gender",
                message: "Choose one of the options",
            });
        }
        if self.address.trim().chars().count() > 300 {
            errors.push(FieldError {
                field: "address",
                message: "The address can have at most 300 characters",
            });
        }
        errors
    }

    /// The `PATCH` body: only fields that differ from `original` (an emptied field is sent
    /// as `""`, which clears it). `None` when nothing changed.
    pub fn changes(&self, original: &Profile) -> Option<ProfileUpdate> {
        let changed = |typed: &str, was: Option<&str>| {
            let typed = typed.trim();
            (typed != was.unwrap_or_default().trim()).then(|| typed.to_owned())
        };
        let update = ProfileUpdate {
            name: changed(&self.name, Some(&original.name)),
            phone: changed(&self.phone, original.phone.as_deref()),
            date_of_birth: changed(&self.date_of_birth, original.date_of_birth.as_deref()),
            gender: changed(&self.gender, original.gender.as_deref()),
            address: changed(&self.address, original.address.as_deref()),
        };
        (update != ProfileUpdate::default()).then_some(update)
    }
}

fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).ok()
}

/// What signing out would throw away: `pending` writes not yet sent. `None` when nothing
/// would be lost, so signing out needs no warning.
pub fn sign_out_warning(pending: usize) -> Option<String> {
    match pending {
        0 => None,
        1 => Some(
            "1 change has not been sent yet. Signing out deletes it from this device.".to_owned(),
        ),
        n => Some(format!(
            "{n} changes have not been sent yet. Signing out deletes them from this device."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        serde_json::from_value(serde_json::json!({
            "id": "00000000-0000-0000-0000-000000000001",
            "email": "ada@example.com", "name": "Ada Obi", "role": "patient",
            "phone": "+234 801 234 5678", "date_of_birth": null, "gender": "female",
            "address": null, "primary_hospital_id": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field).collect::<Vec<_>>()
    }

    #[test]
    fn the_form_round_trips_and_an_untouched_form_sends_nothing() {
        let form = ProfileForm::from_profile(&profile());
        assert_eq!(form.phone, "+234 801 234 5678");
        assert_eq!(form.date_of_birth, "");
        assert!(form.check("2026-11-22").is_empty());
        assert_eq!(form.changes(&profile()), None);
    }

    #[test]
    fn only_changed_fields_are_sent_and_emptying_a_field_clears_it() {
        let mut form = ProfileForm::from_profile(&profile());
        form.name = "  Ada Obi-Eze ".into();
        form.phone = String::new();
        form.date_of_birth = "1990-04-01".into();
        let update = form.changes(&profile()).unwrap();
        assert_eq!(update.name.as_deref(), Some("Ada Obi-Eze"));
        assert_eq!(update.phone.as_deref(), Some(""), "cleared");
        assert_eq!(update.date_of_birth.as_deref(), Some("1990-04-01"));
        assert_eq!((update.gender, update.address), (None, None));
    }

    #[test]
    fn the_servers_rules_are_checked_before_sending() {
        let form = ProfileForm {
            name: "  ".into(),
            phone: "12-34".into(),
            date_of_birth: "2030-01-01".into(),
            gender: "robot".into(),
            address: "x".repeat(301),
        };
        assert_eq!(
            fields(&form.check("2026-11-22")),
            ["name", "phone", "date_of_birth", "gender", "address"]
        );
        let bad_date = ProfileForm {
            name: "Ada".into(),
            date_of_birth: "01/04/1990".into(),
            ..Default::default()
        };
        assert_eq!(fields(&bad_date.check("2026-11-22")), ["date_of_birth"]);
        let too_old = ProfileForm {
            name: "Ada".into(),
            date_of_birth: "1890-01-01".into(),
            ..Default::default()
        };
        assert_eq!(fields(&too_old.check("2026-11-22")), ["date_of_birth"]);
    }

    #[test]
    fn signing_out_warns_only_when_changes_would_be_lost() {
        assert_eq!(sign_out_warning(0), None);
        assert!(sign_out_warning(1).unwrap().starts_with("1 change has"));
        assert!(sign_out_warning(3).unwrap().starts_with("3 changes have"));
    }
}
