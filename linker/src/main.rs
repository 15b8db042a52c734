fn main() {
    eprintln!("meteor-ld: error: not built yet");
    std::process::exit(1);
}
