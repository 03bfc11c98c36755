//! Plain logic behind the pages, free of rendering and browser types.
