//! `backend-mock --addr 127.0.0.1:8080 --database PATH [--dev] [--static-dir DIR] [--seed N]`

fn main() {}
