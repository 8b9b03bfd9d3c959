//! Decimal text of a float without the float formatting of `{:.N}` (Grisu and Dragon4 tables,
//! some 15 KB of the static binary): the value scaled to an integer, rounded half away from
//! zero, then printed as integer digits. For the figures pyflame prints (seconds, rates,
//! percentages, SVG coordinates), never for values beyond 10^10.

/// `v` with `decimals` digits after the point (at most 9), as `format!("{v:.decimals$}")`
/// prints it except, at most, in the last digit of an exact tie.
pub fn fixed(v: f64, decimals: u32) -> String {
    let decimals = decimals.min(9);
    let scale = 10u64.pow(decimals);
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .into();
    }
    let scaled = (v.abs() * scale as f64).round();
    // Beyond 2^63 the integer part would not fit: not a figure pyflame prints.
    let n = if scaled >= 9.2e18 {
        u64::MAX / 2
    } else {
        scaled as u64
    };
    let sign = if v < 0.0 && n != 0 { "-" } else { "" };
    let (int, frac) = (n / scale, n % scale);
    match decimals {
        0 => format!("{sign}{int}"),
        d => format!("{sign}{int}.{frac:0width$}", width = d as usize),
    }
}

/// `v` with up to `decimals` digits after the point, trailing zeros (and a bare point) left
/// out: `0.01`, `0.00001`, `2`.
pub fn trimmed(v: f64, decimals: u32) -> String {
    let text = fixed(v, decimals);
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

#[cfg(test)]
mod tests {
    use super::{fixed, trimmed};

    #[test]
    fn as_std_formats_them() {
        for v in [
            0.0,
            0.5,
            1.0,
            2.0,
            2.004,
            2.006,
            99.999,
            100.0,
            123.456,
            0.001,
            1e-5,
            3.25,
            1e9,
            7.0 / 3.0,
            -1.5,
            -0.004,
            42.42,
        ] {
            for d in [0u32, 1, 2, 4] {
                let std = format!("{v:.prec$}", prec = d as usize);
                // Ties (3.25 to 1 digit, 0.5 to 0) may round the other way, and a negative
                // value rounding to zero has no sign (std prints "-0"); nothing else differs.
                let tie = (v * 10f64.powi(d as i32)).fract().abs() == 0.5;
                let negative_zero =
                    std.starts_with('-') && std[1..].chars().all(|c| c == '0' || c == '.');
                if !tie && !negative_zero {
                    assert_eq!(fixed(v, d), std, "{v} to {d}");
                }
            }
        }
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(fixed(f64::NAN, 2), "NaN");
        assert_eq!(fixed(1e300, 2), fixed(1e200, 2));
    }

    #[test]
    fn trims_like_a_short_decimal() {
        assert_eq!(trimmed(0.01, 9), "0.01");
        assert_eq!(trimmed(0.00001, 9), "0.00001");
        assert_eq!(trimmed(0.003, 9), "0.003");
        assert_eq!(trimmed(2.0, 9), "2");
        assert_eq!(trimmed(12.5, 2), "12.5");
        assert_eq!(trimmed(0.0, 2), "0");
    }
}
