fn main() {
    eprintln!("meteor: not built yet");
    std::process::exit(1);
}
