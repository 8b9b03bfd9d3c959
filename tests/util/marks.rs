//! `# MARK:<name>` comments in the test scripts: the line numbers where the tests
//! expect frames. The scripts find their own markers the same way, so editing a
//! script never breaks a line number.

use std::collections::HashMap;
use std::path::Path;

/// Marker name -> 1-based line number. Panics on a missing file, a marker without a
/// name, or a name used twice.
pub fn marks(file: &Path) -> HashMap<String, u32> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    parse_marks(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

pub fn parse_marks(text: &str) -> Result<HashMap<String, u32>, String> {
    const TAG: &str = "# MARK:";
    let mut found = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        let Some(at) = line.find(TAG) else { continue };
        let name: String = line[at + TAG.len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            return Err(format!("line {number}: marker without a name"));
        }
        if let Some(first) = found.insert(name.clone(), number) {
            return Err(format!("marker {name} on lines {first} and {number}"));
        }
    }
    Ok(found)
}

/// The line of marker `name`, panicking with the file's markers if it is absent.
pub fn line_of(marks: &HashMap<String, u32>, name: &str) -> u32 {
    match marks.get(name) {
        Some(line) => *line,
        None => {
            let mut known: Vec<&String> = marks.keys().collect();
            known.sort();
            panic!("no marker {name:?}; markers: {known:?}")
        }
    }
}

#[test]
fn parse_marks_finds_lines_and_rejects_duplicates() {
    let marks = parse_marks("a\nx = 1  # MARK:one\n\ny()  # MARK:two_2 trailing\n").unwrap();
    assert_eq!(marks.len(), 2);
    assert_eq!(marks["one"], 2);
    assert_eq!(marks["two_2"], 4);
    assert!(parse_marks("# MARK:a\n# MARK:a\n").is_err());
    assert!(parse_marks("# MARK: a\n").is_err());
}
