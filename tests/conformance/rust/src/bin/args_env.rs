//! Arguments, environment and exit codes: prints argv[1..] and the sorted
//! environment, then exits with the code given as the first argument.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for (i, a) in args.iter().enumerate() {
        println!("arg {i}: {a:?}");
    }
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    for (k, v) in &env {
        println!("env {k}={v:?}");
    }
    eprintln!("diagnostic on stderr");
    let code = args.first().and_then(|a| a.parse::<u32>().ok()).unwrap_or(0);
    if code != 0 {
        unsafe { wasi_conformance::proc_exit(code) }
    }
}
