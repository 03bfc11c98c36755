//! Form checks done before anything is sent, with messages next to the field they concern.

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name, as used for the input's `id`.
    pub field: &'static str,
    /// What is wrong, for people.
    pub message: &'static str,
}

/// The password length the server requires at registration.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Whether `email` looks like an address: one `@`, something before it, a dot after it.
pub fn plausible_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
}

/// Checks a sign-in form.
pub fn login(email: &str, password: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !plausible_email(email) {
        errors.push(FieldError {
            field: "email",
            message: "Enter your email address, like name@example.com",
        });
    }
    if password.is_empty() {
        errors.push(FieldError {
            field: "password",
            message: "Enter your password",
        });
    }
    errors
}

/// Checks a registration form.
pub fn register(name: &str, email: &str, password: &str, confirm: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if name.trim().is_empty() {
        errors.push(FieldError {
            field: "name",
            message: "Enter your full name",
        });
    }
    if !plausible_email(email) {
        errors.push(FieldError {
            field: "email",
            message: "Enter your email address, like name@example.com",
        });
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        errors.push(FieldError {
            field: "password",
            message: "Use at least 8 characters",
        });
    }
    if password != confirm {
        errors.push(FieldError {
            field: "confirm",
            message: "The two passwords do not match",
        });
    }
    errors
}

/// The message for `field`, if it has one.
pub fn message_for(errors: &[FieldError], field: &str) -> Option<&'static str> {
    errors.iter().find(|e| e.field == field).map(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(plausible_email("patient@demo.lifeline"));
        assert!(plausible_email("  a@b.co "));
        for bad in [
            "", "a", "a@b", "@b.co", "a@b.", "a@.b", "a b@c.d", "a@b@c.d",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn login_form() {
        assert!(login("patient@demo.lifeline", "demo-patient-pass").is_empty());
        let errors = login("nope", "");
        assert_eq!(
            message_for(&errors, "email"),
            Some("Enter your email address, like name@example.com")
        );
        assert_eq!(
            message_for(&errors, "password"),
            Some("Enter your password")
        );
    }

    #[test]
    fn register_form() {
        assert!(register("Ada", "ada@example.com", "long enough", "long enough").is_empty());
        let errors = register(" ", "ada@example.com", "short", "other");
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "password", "confirm"]);
    }
}
