fn main() -> std::process::ExitCode {
    till::cli::main()
}
