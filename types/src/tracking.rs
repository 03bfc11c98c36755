//! Women's health tracking, synced: kick sessions, cycles and contractions.
//!
//! Items carry client-generated UUIDs. A batch upsert applies each item only if its
//! `updated_at` is newer than the server's copy (ties keep the server's), and deletions are
//! tombstones so other devices learn of them. Reads page by a server-assigned, monotonic
//! `cursor`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The tracked kinds, as they appear in the path (`/api/health-tracking/{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "kebab-case")]
pub enum TrackingKind {
    KickSessions,
    Cycles,
    Contractions,
}

impl TrackingKind {
    /// The path and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KickSessions => "kick-sessions",
            Self::Cycles => "cycles",
            Self::Contractions => "contractions",
        }
    }

    /// Parses the path spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "kick-sessions" => Some(Self::KickSessions),
            "cycles" => Some(Self::Cycles),
            "contractions" => Some(Self::Contractions),
            _ => None,
        }
    }
}

/// `data` of a kick session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(deny_unknown_fields)]
pub struct KickSessionData {
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Number of kicks counted, 0 or more.
    pub kicks: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// `data` of a menstrual cycle entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(deny_unknown_fields)]
pub struct CycleData {
    /// `YYYY-MM-DD`.
    pub start_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// `light`, `medium` or `heavy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    #[serde(default)]
    pub symptoms: Vec<String>,
}

/// `data` of a contraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(deny_unknown_fields)]
pub struct ContractionData {
    pub started_at: String,
    /// Seconds, more than 0.
    pub duration_seconds: i64,
    /// 1 (mild) to 10 (strongest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intensity: Option<i64>,
}

/// One item of an upload batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TrackingItemInput {
    pub id: Uuid,
    /// RFC 3339; the larger wins.
    pub updated_at: String,
    #[serde(default)]
    pub deleted: bool,
    /// The kind's data (`KickSessionData`, `CycleData` or `ContractionData`); ignored for tombstones.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// `POST /api/health-tracking/{kind}` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TrackingBatch {
    pub items: Vec<TrackingItemInput>,
}

/// An item as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TrackingItem {
    pub id: Uuid,
    pub updated_at: String,
    pub deleted: bool,
    /// `null` for tombstones.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
    /// The server's sync cursor of this version.
    pub cursor: i64,
}

/// The outcome for one uploaded item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TrackingItemResult {
    pub id: Uuid,
    /// False when the server's copy was as new or newer and was kept.
    pub applied: bool,
    /// The server's copy after the upload.
    pub item: TrackingItem,
}

/// `POST /api/health-tracking/{kind}` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TrackingSyncResult {
    pub results: Vec<TrackingItemResult>,
    /// The highest cursor of the user's items of this kind after the upload.
    pub cursor: i64,
}

/// `GET /api/health-tracking/{kind}?since=` answer: changes after `since`, tombstones included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct TrackingPage {
    pub items: Vec<TrackingItem>,
    /// Pass as `since=` next time.
    pub cursor: i64,
    /// More changes follow; ask again with `since=cursor`.
    pub has_more: bool,
}
