//! lifeline-sw
