//! Tests of the layout table: every row is complete, fits its structs, and follows CPython's history.

use super::*;

fn all() -> Vec<&'static Layout> {
    VERSIONS
        .iter()
        .map(|&(a, b)| for_version(a, b).expect("every listed version has a row"))
        .collect()
}

#[test]
fn every_listed_version_has_its_own_row() {
    for (l, v) in all().into_iter().zip(VERSIONS) {
        assert_eq!(l.version, v);
    }
    assert!(for_version(3, 3).is_none());
    assert!(for_version(4, 0).is_none());
}

/// Every field read lies inside its struct, 8-byte pointers are 8-aligned, and the fields of
/// one struct do not overlap.
#[test]
fn offsets_fit_their_structs() {
    for l in all() {
        let v = l.version;
        let check = |what: &str, size: u64, fields: &[(u64, u64)]| {
            for (i, &(off, width)) in fields.iter().enumerate() {
                assert!(
                    off + width <= size,
                    "{v:?} {what}: field at {off} (+{width}) outside size {size}"
                );
                assert_eq!(
                    off % width.min(8),
                    0,
                    "{v:?} {what}: field at {off} misaligned"
                );
                for &(o2, w2) in &fields[i + 1..] {
                    assert!(
                        off + width <= o2 || o2 + w2 <= off,
                        "{v:?} {what}: fields at {off} and {o2} overlap"
                    );
                }
            }
        };
        let i = l.interp;
        let mut interp = vec![(i.next, 8), (i.threads_head, 8)];
        interp.extend(i.id.map(|o| (o, 8)));
        if let GilHolder::Interp {
            ceval_gil,
            last_holder,
            locked,
        } = l.gil
        {
            interp.push((ceval_gil, 8));
            assert!(last_holder != locked);
        }
        check("PyInterpreterState", i.size, &interp);

        let t = l.tstate;
        let mut tstate = vec![(t.next, 8), (t.interp, 8), (t.thread_id, 8)];
        tstate.push(match t.frame {
            FrameRoot::Frame(o) | FrameRoot::CurrentFrame(o) => (o, 8),
            FrameRoot::CFrame {
                cframe,
                current_frame,
            } => {
                assert!(current_frame <= 16);
                (cframe, 8)
            }
        });
        tstate.extend(t.native_thread_id.map(|o| (o, 8)));
        check("PyThreadState", t.size, &tstate);
        assert!(l.tstate_read_len() as u64 <= t.size && l.tstate_read_len() <= 512);

        match l.frame {
            Frame::Object {
                f_back,
                f_code,
                f_lasti,
                lasti_scale,
                size,
            } => {
                assert!(lasti_scale == 1 || lasti_scale == 2);
                check(
                    "PyFrameObject",
                    size,
                    &[(f_back, 8), (f_code, 8), (f_lasti, 4)],
                );
            }
            Frame::Interpreter {
                previous,
                code,
                instr,
                owner,
                size,
                ..
            } => {
                check(
                    "_PyInterpreterFrame",
                    size,
                    &[(previous, 8), (code, 8), (instr, 8), (owner, 1)],
                );
            }
        }
        assert!(l.frame_read_len() <= 256);

        let c = l.code;
        let mut code = vec![
            (l.objects.ob_type, 8),
            (c.filename, 8),
            (c.name, 8),
            (c.linetable, 8),
            (c.firstlineno, 4),
        ];
        if let Some(o) = c.code_adaptive {
            // The inline bytecode starts at the end of the struct.
            assert_eq!(o, c.size - 8, "{v:?}: co_code_adaptive is the last member");
            code.push((o, 2));
        }
        check("PyCodeObject", c.size, &code);
        assert!(l.code_read_len() <= 256);
    }
}

/// The eras: which versions use which mechanism.
#[test]
fn mechanisms_follow_cpython_history() {
    for l in all() {
        let v = l.version;
        assert_eq!(l.interp_root == InterpRoot::InterpHead, v < (3, 7), "{v:?}");
        assert_eq!(
            matches!(l.gil, GilHolder::CurrentSymbol),
            v < (3, 7),
            "{v:?}"
        );
        assert_eq!(
            matches!(l.gil, GilHolder::Interp { .. }),
            v >= (3, 12),
            "{v:?}"
        );
        assert_eq!(
            matches!(l.frame, Frame::Interpreter { .. }),
            v >= (3, 11),
            "{v:?}"
        );
        assert_eq!(l.tstate.native_thread_id.is_some(), v >= (3, 11), "{v:?}");
        let lines = match v {
            (2, _) | (3, 4) | (3, 5) => LineFormat::Lnotab { signed: false },
            (3, 6..=9) => LineFormat::Lnotab { signed: true },
            (3, 10) => LineFormat::Table310,
            _ => LineFormat::Location,
        };
        assert_eq!(l.code.lines, lines, "{v:?}");
        assert_eq!(matches!(l.string, Str::Bytes { .. }), v.0 == 2, "{v:?}");
        if let Frame::Interpreter { shim_owner, .. } = l.frame {
            assert_eq!(shim_owner.is_some(), v >= (3, 12), "{v:?}");
        }
    }
}
