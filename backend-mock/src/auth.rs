//! Authentication: access tokens, refresh tokens, password hashing and the `AuthUser` extractor.
