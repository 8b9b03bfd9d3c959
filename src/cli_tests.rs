//! Tests of the command line: defaults, every spelling of every option, and every error.

use super::*;

fn parse_str(args: &[&str]) -> Result<Parsed> {
    parse(args.iter().map(OsString::from))
}

fn run(args: &[&str]) -> Args {
    match parse_str(args) {
        Ok(Parsed::Run(a)) => a,
        other => panic!("{args:?} gave {other:?}"),
    }
}

fn message(args: &[&str]) -> String {
    match parse_str(args) {
        Err(Error::Fatal(m)) | Err(Error::Usage(m)) => m,
        other => panic!("{args:?} gave {other:?}"),
    }
}

#[test]
fn defaults_match_the_original() {
    let a = run(&["-p", "42"]);
    assert_eq!(a.target, Target::Pids(vec![42]));
    assert_eq!(a.seconds, 1.0);
    assert_eq!(a.rate, 0.01);
    assert_eq!(a.interval(), Duration::from_millis(10));
    assert_eq!(a.duration(), Some(Duration::from_secs(1)));
    assert!(!a.dump && !a.threads && !a.exclude_idle && !a.no_line_numbers && !a.flamechart);
    assert_eq!(a.output, None);
    assert_eq!(a.warning, None);
    assert_eq!(a.format, Format::Collapsed);
    assert!(!a.per_thread);
}

#[test]
fn every_option_in_every_spelling() {
    let a = run(&[
        "--pid=7",
        "-s",
        "2.5",
        "--rate=0.001",
        "-o",
        "out.txt",
        "-x",
        "-n",
        "--threads",
        "--flamechart",
    ]);
    assert_eq!(a.target, Target::Pids(vec![7]));
    assert_eq!(a.seconds, 2.5);
    assert_eq!(a.rate, 0.001);
    assert_eq!(a.output, Some(PathBuf::from("out.txt")));
    assert!(a.exclude_idle && a.no_line_numbers && a.threads && a.flamechart);
    let b = run(&[
        "-xn",
        "-p7",
        "--seconds",
        "-1",
        "--output=f",
        "--exclude-idle",
        "--no-line-numbers",
    ]);
    assert_eq!(b.duration(), None);
    assert_eq!(b.output, Some(PathBuf::from("f")));
    // -d implies --threads; options may follow the PID (GNU permutation).
    let d = run(&["-p", "9", "--dump"]);
    assert!(d.dump && d.threads);
    assert_eq!(
        run(&["-s", "0", "-p", "1"]).duration(),
        Some(Duration::ZERO)
    );
}

#[test]
fn abi_values() {
    assert_eq!(run(&["--abi", "26", "-p", "1"]).abi, Some((2, 6)));
    assert_eq!(run(&["--abi=36", "-p", "1"]).abi, Some((3, 6)));
    assert_eq!(run(&["--abi", "313", "-p", "1"]).abi, Some((3, 13)));
    assert_eq!(run(&["--abi", "3.10", "-p", "1"]).abi, Some((3, 10)));
    assert_eq!(run(&["--abi", "314", "-p", "1"]).abi, Some((3, 14)));
    assert_eq!(run(&["--abi", "3.15", "-p", "1"]).abi, Some((3, 15)));
    assert_eq!(
        message(&["--abi", "99", "-p", "1"]),
        "Unknown or unsupported ABI version: 99"
    );
    assert_eq!(
        message(&["--abi=foo", "-p", "1"]),
        "Unknown or unsupported ABI version: foo"
    );
    assert_eq!(
        message(&["--abi", "3.3", "-p", "1"]),
        "Unknown or unsupported ABI version: 3.3"
    );
}

#[test]
fn bad_pids_are_errors_not_guesses() {
    for bad in ["12x", "-1", "0", "abc", "", "99999999999"] {
        let m = message(&["-p", bad]);
        assert!(
            m.starts_with(&format!("Error: failed to parse \"{bad}\" as a PID")),
            "{m}"
        );
    }
    assert!(message(&["12x"]).contains("failed to parse \"12x\" as a PID"));
}

#[test]
fn bad_numbers_name_the_option() {
    assert!(
        message(&["-r", "abc", "-p", "1"]).contains("\"abc\" as a number of seconds for -r/--rate")
    );
    assert!(
        message(&["-s", "x", "-p", "1"]).contains("\"x\" as a number of seconds for -s/--seconds")
    );
    assert!(message(&["-s", "nan", "-p", "1"]).contains("-s/--seconds"));
    assert!(message(&["-r", "-0.5", "-p", "1"]).contains("must not be negative"));
}

#[test]
fn unknown_options_are_usage_errors() {
    assert!(
        matches!(parse_str(&["--bogus", "-p", "1"]), Err(Error::Usage(m)) if m.contains("--bogus"))
    );
    assert!(matches!(parse_str(&["-q", "-p", "1"]), Err(Error::Usage(m)) if m.contains("-q")));
    assert!(matches!(parse_str(&["-p"]), Err(Error::Usage(_))));
    assert!(matches!(parse_str(&[]), Err(Error::Usage(m)) if m.is_empty()));
    assert!(matches!(parse_str(&["1", "2"]), Err(Error::Usage(_))));
    assert!(matches!(parse_str(&["-p", "1", "2"]), Err(Error::Usage(_))));
}

#[test]
fn trace_takes_the_rest_of_the_line() {
    let a = run(&["-o", "x", "-t", "python3", "-p", "-d", "--bogus"]);
    let want: Vec<OsString> = ["python3", "-p", "-d", "--bogus"]
        .iter()
        .map(OsString::from)
        .collect();
    assert_eq!(a.target, Target::Trace(want));
    assert_eq!(a.duration(), None, "-t samples until the command exits");
    assert_eq!(run(&["-s", "5", "-t", "x"]).duration(), None);
    assert_eq!(
        message(&["-d", "-t", "python3"]),
        "Options -t and -d are not mutually compatible."
    );
    assert_eq!(
        message(&["-p", "1", "-t", "python3"]),
        "Options -t and -p are not mutually compatible."
    );
    assert_eq!(message(&["-t"]), "-t requires a command to run");
}

#[test]
fn bare_pid_is_deprecated_but_accepted() {
    let a = run(&["-s", "2", "1234"]);
    assert_eq!(a.target, Target::Pids(vec![1234]));
    assert_eq!(
        a.warning.as_deref(),
        Some("WARNING: Specifying a PID to trace without -p is deprecated; see Pyflame issue #99 for details.")
    );
}

#[test]
fn help_and_version_win_when_reached() {
    assert_eq!(parse_str(&["-h"]), Ok(Parsed::Help));
    assert_eq!(parse_str(&["-p", "1", "--version"]), Ok(Parsed::Version));
    // Options before -h are processed first, as getopt did.
    assert!(parse_str(&["--abi=0", "-h"]).is_err());
    assert!(version_line().starts_with(&format!("pyflame {} ", env!("CARGO_PKG_VERSION"))));
    assert_eq!(abi_list(), "26 27 34 35 36 37 38 39 310 311 312 313+");
}

#[test]
fn format_from_the_option_or_the_file_name() {
    let format = |args: &[&str]| run(args).format;
    for (name, want) in [
        ("collapsed", Format::Collapsed),
        ("flamechart", Format::Flamechart),
        ("svg", Format::Svg),
        ("speedscope", Format::Speedscope),
    ] {
        assert_eq!(format(&["--format", name, "-p", "1"]), want);
        assert_eq!(format(&[&format!("--format={name}"), "-p", "1"]), want);
    }
    assert_eq!(format(&["-o", "p.svg", "-p", "1"]), Format::Svg);
    assert_eq!(format(&["-o", "dir/P.SVG", "-p", "1"]), Format::Svg);
    assert_eq!(format(&["-o", "p.json", "-p", "1"]), Format::Speedscope);
    assert_eq!(format(&["-o", "p.txt", "-p", "1"]), Format::Collapsed);
    assert_eq!(format(&["-o", "svg", "-p", "1"]), Format::Collapsed);
    // --format wins over the file name; the original's --flamechart still works.
    assert_eq!(
        format(&["--format", "collapsed", "-o", "p.svg", "-p", "1"]),
        Format::Collapsed
    );
    assert_eq!(format(&["--flamechart", "-p", "1"]), Format::Flamechart);
    assert_eq!(
        format(&["--flamechart", "-o", "p.txt", "-p", "1"]),
        Format::Flamechart
    );
    // --flamechart with svg or speedscope keeps the time order.
    let a = run(&["--flamechart", "-o", "p.json", "-p", "1"]);
    assert!(a.flamechart && a.format == Format::Speedscope);
    assert!(run(&["--format", "flamechart", "-p", "1"]).flamechart);
    assert!(!run(&["-o", "p.svg", "-p", "1"]).flamechart);
    assert_eq!(
        message(&["--format", "html", "-p", "1"]),
        "Unknown output format: html (--format takes collapsed, flamechart, svg or speedscope)"
    );
    assert_eq!(
        message(&["--flamechart", "--format", "collapsed", "-p", "1"]),
        "Options --flamechart and --format collapsed are not mutually compatible."
    );
    assert!(matches!(parse_str(&["--format"]), Err(Error::Usage(_))));
}

#[test]
fn per_thread_towers_are_for_svg() {
    let a = run(&["--per-thread", "-o", "p.svg", "-p", "1"]);
    assert!(a.per_thread && a.threads, "--per-thread implies --threads");
    assert!(run(&["--per-thread", "--format", "svg", "-p", "1"]).threads);
    assert!(message(&["--per-thread", "-p", "1"]).starts_with("Option --per-thread applies to SVG"));
    assert!(message(&["--per-thread", "-o", "p.json", "-p", "1"]).contains("speedscope"));
    // The dump is text: -d takes neither, and -o FILE.svg does not change it.
    assert_eq!(
        message(&["-d", "--format", "svg", "-p", "1"]),
        "Options --format and --per-thread do not apply to -d (the dump is text)."
    );
    assert!(message(&["-d", "--per-thread", "-p", "1"]).contains("-d"));
    assert!(run(&["-d", "-o", "x.svg", "-p", "1"]).dump);
}

#[test]
fn usage_lists_the_formats() {
    assert!(USAGE.contains("--format=FORMAT"));
    assert!(USAGE.contains("collapsed (the default), flamechart, svg or speedscope"));
    assert!(USAGE.contains("--per-thread"));
}

#[test]
fn several_pids_and_subprocesses() {
    let a = run(&["-p", "3,4", "-p", "5", "-p", "3", "--subprocesses"]);
    assert_eq!(a.target, Target::Pids(vec![3, 4, 5]));
    assert!(a.subprocesses);
    assert!(message(&["-p", "3,x"]).contains("failed to parse \"x\" as a PID"));
    assert!(message(&["-p", "3,"]).contains("as a PID"));
}

/// The hand-written decimal reader agrees with `str::parse::<f64>` on what a rate or a
/// duration looks like, and rejects what it rejects.
#[test]
fn decimals_read_as_str_parse_reads_them() {
    for s in [
        "0",
        "1",
        "10",
        "0.01",
        "0.001",
        "0.00001",
        ".5",
        "5.",
        "1e-3",
        "1E3",
        "2.5e+2",
        "-1",
        "+3",
        "-0.5",
        "007",
        "0.1",
        "0.2",
        "0.3",
        "123456.789",
        "1e-9",
        "12345678901234567890",
        "0.000000000000000000000123",
        "1.7976931348623157e308",
        "4e-320",
    ] {
        let want: f64 = s.parse().unwrap();
        let got = super::decimal(s).unwrap_or_else(|| panic!("{s} not read"));
        assert!(
            got == want || ((got - want) / want).abs() < 1e-15,
            "{s}: {got} != {want}"
        );
    }
    for s in [
        "",
        ".",
        "e3",
        "1e",
        "1e+",
        "abc",
        "1.2.3",
        "1x",
        "--1",
        "1 2",
        "inf",
        "nan",
        "0x10",
        "1e9999999",
    ] {
        assert_eq!(super::decimal(s), None, "{s}");
    }
}
