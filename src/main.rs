fn main() -> std::process::ExitCode {
    lbsim::cli::main()
}
