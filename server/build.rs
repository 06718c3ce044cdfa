// Release builds embed ../dist (the built SPA): rebuild when it changes.
fn main() {
    println!("cargo:rerun-if-changed=../dist");
}
