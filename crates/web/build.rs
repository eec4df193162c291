//! The built web UI (`web/dist`) is embedded in release builds; rebuild when it changes, and
//! when it first appears.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
