//! The patient's own data that the app keeps in `localStorage` (the booking draft and the
//! health-tracking history), tied to the patient it belongs to. Signing out removes it; a
//! different patient signing in on the same device (after the first one's session ended
//! without signing out) finds it removed too. What was synced comes back from the server.

use leptos::prelude::*;

use crate::routes::book::{use_booking, DRAFT_KEY};
use crate::state::booking::BookingDraft;
use crate::state::tracking::STORAGE_KEY_PREFIX;

/// Who the data below belongs to (a user id).
const OWNER_KEY: &str = "lifeline.device-owner";
/// The keys (or key prefixes) of a patient's data.
const PATIENT_KEYS: [&str; 2] = [DRAFT_KEY, STORAGE_KEY_PREFIX];

/// The page's `localStorage`, when the browser allows it.
pub(crate) fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// A patient signed in. Data another patient left on this device is removed first; data
/// stored before the owner was recorded is taken to be this patient's.
pub fn signed_in(user_id: &str) {
    let Some(storage) = local_storage() else {
        return;
    };
    let owner = storage.get_item(OWNER_KEY).ok().flatten();
    if owner.is_some_and(|owner| owner != user_id) {
        forget();
    }
    let _ = storage.set_item(OWNER_KEY, user_id);
}

/// Removes the patient's data from this device (at sign-out, or for another patient).
pub fn forget() {
    use_booking().set(BookingDraft::default());
    let Some(storage) = local_storage() else {
        return;
    };
    let len = storage.length().unwrap_or(0);
    let keys: Vec<String> = (0..len)
        .filter_map(|i| storage.key(i).ok().flatten())
        .collect();
    for key in keys {
        if key == OWNER_KEY || PATIENT_KEYS.iter().any(|p| key.starts_with(p)) {
            let _ = storage.remove_item(&key);
        }
    }
}
