//! lifeline-web
