//! Plain logic behind the pages, free of rendering and browser types, tested natively.

pub mod banner;
pub mod booking;
pub mod chart;
pub mod format;
pub mod otp;
pub mod payment;
pub mod profile;
pub mod reschedule;
pub mod tracking;
pub mod validation;
pub mod write;
