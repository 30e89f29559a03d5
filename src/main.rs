fn main() -> std::process::ExitCode {
    till::ui::mark_start();
    till::cli::main()
}
