//! Health tracking kept on the device: the entries of one tracker (kick sessions,
//! contractions, cycles) with their sync state, merged with what the server holds, and the
//! values the history chart draws.

use lifeline_types::tracking::{TrackingItem, TrackingItemInput, TrackingKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where an entry stands with the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncState {
    /// Queued in the SDK's outbox under this entry id; sent when the connection allows.
    Waiting {
        /// The outbox entry.
        outbox_id: String,
    },
    /// The server holds this version.
    Synced,
    /// The server refused it; the reason, for the user.
    Refused(String),
}

impl SyncState {
    /// The short label shown next to an entry.
    pub fn label(&self) -> String {
        match self {
            Self::Waiting { .. } => "Saved on this device, waiting to sync".to_owned(),
            Self::Synced => "Synced".to_owned(),
            Self::Refused(why) => format!("Not accepted by the server: {why}"),
        }
    }
}

/// One tracked entry as this device keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Client-made id, the same on the server.
    pub id: Uuid,
    /// RFC 3339; the newer version wins on the server.
    pub updated_at: String,
    /// The kind's data (`KickSessionData`, `ContractionData`, `CycleData`).
    pub data: serde_json::Value,
    /// Sync state.
    pub sync: SyncState,
}

impl Entry {
    /// The upload item for this entry.
    pub fn input(&self) -> TrackingItemInput {
        TrackingItemInput {
            id: self.id,
            updated_at: self.updated_at.clone(),
            deleted: false,
            data: self.data.clone(),
        }
    }

    /// The time the entry is ordered by: when the session, contraction or cycle started.
    pub fn started(&self) -> &str {
        ["started_at", "start_date"]
            .iter()
            .find_map(|k| self.data.get(*k).and_then(|v| v.as_str()))
            .unwrap_or(&self.updated_at)
    }
}

/// What every tracker's `localStorage` key starts with.
pub const STORAGE_KEY_PREFIX: &str = "lifeline.tracking.";

/// The `localStorage` key of a tracker's entries.
pub fn storage_key(kind: TrackingKind) -> String {
    format!("{STORAGE_KEY_PREFIX}{}", kind.as_str())
}

/// Folds the server's changes into the device's entries: a tombstone removes the entry, a
/// server version at least as new replaces the device's (and counts as synced), and items
/// only the server has are added. Keeps entries ordered by start.
pub fn merge_server(local: &mut Vec<Entry>, items: &[TrackingItem]) {
    for item in items {
        let pos = local.iter().position(|e| e.id == item.id);
        match (pos, item.deleted) {
            (Some(i), true) => {
                if local[i].updated_at <= item.updated_at {
                    local.remove(i);
                }
            }
            (Some(i), false) => {
                if local[i].updated_at <= item.updated_at {
                    local[i] = Entry {
                        id: item.id,
                        updated_at: item.updated_at.clone(),
                        data: item.data.clone(),
                        sync: SyncState::Synced,
                    };
                }
            }
            (None, true) => {}
            (None, false) => local.push(Entry {
                id: item.id,
                updated_at: item.updated_at.clone(),
                data: item.data.clone(),
                sync: SyncState::Synced,
            }),
        }
    }
    local.sort_by(|a, b| a.started().cmp(b.started()));
}

fn day_number(date: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(date.get(..10)?, &format).ok()?;
    Some(i64::from(day.to_julian_day()))
}

/// What the history chart draws, oldest first: kicks per session, seconds per contraction,
/// and days between consecutive cycle starts.
pub fn chart_values(kind: TrackingKind, entries: &[Entry]) -> Vec<f64> {
    let field = |key: &str| -> Vec<f64> {
        entries
            .iter()
            .filter_map(|e| e.data.get(key).and_then(serde_json::Value::as_f64))
            .collect()
    };
    match kind {
        TrackingKind::KickSessions => field("kicks"),
        TrackingKind::Contractions => field("duration_seconds"),
        TrackingKind::Cycles => {
            let days: Vec<i64> = entries
                .iter()
                .filter_map(|e| e.data.get("start_date").and_then(|v| v.as_str()))
                .filter_map(day_number)
                .collect();
            days.windows(2).map(|w| (w[1] - w[0]) as f64).collect()
        }
    }
}

/// The number of entries not yet on the server.
pub fn waiting(entries: &[Entry]) -> usize {
    entries
        .iter()
        .filter(|e| matches!(e.sync, SyncState::Waiting { .. }))
        .count()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(n: u128, updated_at: &str, data: serde_json::Value, sync: SyncState) -> Entry {
        Entry {
            id: Uuid::from_u128(n),
            updated_at: updated_at.into(),
            data,
            sync,
        }
    }

    fn item(n: u128, updated_at: &str, deleted: bool, data: serde_json::Value) -> TrackingItem {
        TrackingItem {
            id: Uuid::from_u128(n),
            updated_at: updated_at.into(),
            deleted,
            data,
            cursor: 1,
        }
    }

    fn waiting_sync() -> SyncState {
        SyncState::Waiting {
            outbox_id: "o".into(),
        }
    }

    #[test]
    fn newer_server_versions_win_and_older_ones_do_not() {
        let t1 = "2026-01-01T10:00:00Z";
        let t2 = "2026-01-01T11:00:00Z";
        let mut local = vec![
            entry(1, t1, json!({"started_at": t1, "kicks": 3}), waiting_sync()),
            entry(2, t2, json!({"started_at": t2, "kicks": 5}), waiting_sync()),
        ];
        merge_server(
            &mut local,
            &[
                item(1, t2, false, json!({"started_at": t1, "kicks": 4})),
                item(2, t1, false, json!({"started_at": t2, "kicks": 1})),
            ],
        );
        assert_eq!(local[0].data["kicks"], 4);
        assert_eq!(local[0].sync, SyncState::Synced);
        assert_eq!(local[1].data["kicks"], 5, "the device's newer edit stays");
        assert_eq!(waiting(&local), 1);
    }

    #[test]
    fn tombstones_remove_and_server_only_items_are_added_in_order() {
        let mut local = vec![entry(
            1,
            "2026-01-02T00:00:00Z",
            json!({"started_at": "2026-01-02T00:00:00Z", "kicks": 2}),
            SyncState::Synced,
        )];
        merge_server(
            &mut local,
            &[
                item(1, "2026-01-03T00:00:00Z", true, serde_json::Value::Null),
                item(
                    3,
                    "2026-01-05T00:00:00Z",
                    false,
                    json!({"started_at": "2026-01-05T00:00:00Z", "kicks": 9}),
                ),
                item(
                    4,
                    "2026-01-04T00:00:00Z",
                    false,
                    json!({"started_at": "2026-01-01T00:00:00Z", "kicks": 7}),
                ),
            ],
        );
        let ids: Vec<_> = local.iter().map(|e| e.id.as_u128()).collect();
        assert_eq!(ids, vec![4, 3]);
        assert_eq!(
            chart_values(TrackingKind::KickSessions, &local),
            vec![7.0, 9.0]
        );
    }

    #[test]
    fn chart_values_per_tracker() {
        let contractions = vec![
            entry(
                1,
                "t",
                json!({"started_at": "a", "duration_seconds": 45}),
                SyncState::Synced,
            ),
            entry(
                2,
                "t",
                json!({"started_at": "b", "duration_seconds": 60}),
                SyncState::Synced,
            ),
        ];
        assert_eq!(
            chart_values(TrackingKind::Contractions, &contractions),
            vec![45.0, 60.0]
        );
        let cycles = vec![
            entry(
                1,
                "t",
                json!({"start_date": "2026-01-03"}),
                SyncState::Synced,
            ),
            entry(
                2,
                "t",
                json!({"start_date": "2026-01-31"}),
                SyncState::Synced,
            ),
            entry(
                3,
                "t",
                json!({"start_date": "2026-03-01"}),
                SyncState::Synced,
            ),
        ];
        assert_eq!(
            chart_values(TrackingKind::Cycles, &cycles),
            vec![28.0, 29.0]
        );
    }

    #[test]
    fn labels_and_round_trip() {
        let e = entry(
            1,
            "2026-01-01T00:00:00Z",
            json!({"kicks": 1}),
            waiting_sync(),
        );
        assert!(e.sync.label().contains("waiting to sync"));
        assert_eq!(SyncState::Synced.label(), "Synced");
        let back: Entry = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        assert_eq!(e.input().id, e.id);
        assert_eq!(
            storage_key(TrackingKind::Cycles),
            "lifeline.tracking.cycles"
        );
    }
}
