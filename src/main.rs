use std::process::ExitCode;

fn main() -> ExitCode {
    match lbsim::cli::main_with_args(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lbsim: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
