//! `--arg` values and export results as text: one set of rules and messages
//! for the native runner and the JS hosts, so both accept the same command
//! lines and report the same `invoke.results`.

/// A wasm number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// i32.
    I32(i32),
    /// i64.
    I64(i64),
    /// f32.
    F32(f32),
    /// f64.
    F64(f64),
}

/// Parses `s` as a value of wasm type `ty`.
pub fn parse(ty: &str, s: &str) -> Result<Value, String> {
    let int = |s: &str| -> Result<i64, String> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, s),
        };
        let v = match digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            Some(h) => i128::from_str_radix(h, 16),
            None => digits.parse::<i128>(),
        }
        .map_err(|e| format!("`{s}` is not an integer ({e})"))?;
        let v = if neg { -v } else { v };
        i64::try_from(v)
            .or_else(|_| u64::try_from(v).map(|u| u as i64))
            .map_err(|_| format!("`{s}` does not fit in 64 bits"))
    };
    Ok(match ty {
        "i32" => {
            let v = int(s)?;
            if v < i32::MIN as i64 || v > u32::MAX as i64 {
                return Err(format!("`{s}` does not fit in i32"));
            }
            Value::I32(v as i32)
        }
        "i64" => Value::I64(int(s)?),
        "f32" => Value::F32(
            s.parse::<f32>()
                .map_err(|e| format!("`{s}` is not a number ({e})"))?,
        ),
        "f64" => Value::F64(
            s.parse::<f64>()
                .map_err(|e| format!("`{s}` is not a number ({e})"))?,
        ),
        other => {
            return Err(format!(
                "parameters of type {other} cannot be passed with --arg"
            ));
        }
    })
}

/// `type:value`, as `summary.json`'s `invoke.results`.
pub fn show(v: &Value) -> String {
    let ty = match v {
        Value::I32(_) => "i32",
        Value::I64(_) => "i64",
        Value::F32(_) => "f32",
        Value::F64(_) => "f64",
    };
    format!("{ty}:{}", plain(v))
}

/// The value alone, as the wasmtime CLI prints an export's result (`5`).
pub fn plain(v: &Value) -> String {
    match v {
        Value::I32(x) => x.to_string(),
        Value::I64(x) => x.to_string(),
        Value::F32(x) => x.to_string(),
        Value::F64(x) => x.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_like_the_native_runner() {
        assert_eq!(parse("i32", "0xffffffff"), Ok(Value::I32(-1)));
        assert_eq!(parse("i32", "-5"), Ok(Value::I32(-5)));
        assert_eq!(parse("i64", "-0x10"), Ok(Value::I64(-16)));
        assert!(
            parse("i32", "4294967296")
                .unwrap_err()
                .contains("does not fit in i32")
        );
        assert!(parse("i32", "x").unwrap_err().contains("is not an integer"));
        assert!(parse("v128", "1").unwrap_err().contains("cannot be passed"));
    }

    #[test]
    fn shows_rust_floats() {
        assert_eq!(show(&Value::F32(0.1)), "f32:0.1");
        assert_eq!(show(&Value::F64(1e21)), "f64:1000000000000000000000");
        assert_eq!(show(&Value::I64(5)), "i64:5");
        assert_eq!(plain(&Value::I32(-7)), "-7");
        assert_eq!(plain(&Value::F64(-0.0)), "-0");
    }
}
