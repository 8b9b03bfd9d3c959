//! Tests of the flame graph's geometry: order, nesting, widths, narrow frames, time order,
//! thread towers.

use super::*;
use crate::output::testing::{distinct_stacks, frames, profile, thread};
use crate::profile::Observation;

const WIDE: Shape = Shape {
    per_thread: false,
    time_order: false,
    pixels: 1_000_000,
};

/// (depth, start, count, label) of every rect, in order.
fn summary(p: &Profile, g: &Graph) -> Vec<(u32, u64, u64, String)> {
    g.rects
        .iter()
        .map(|r| {
            let label = match r.node {
                _ if r.merged > 1 => format!("{} merged", r.merged),
                Node::Root => "all".to_string(),
                Node::Idle => "(idle)".to_string(),
                Node::Failed => "(failed)".to_string(),
                Node::Thread(t) => p.threads[t as usize].label(),
                Node::Frame((code, line)) => format!("{}:{line}", p.codes[code as usize].name),
            };
            (r.depth, r.start, r.count, label)
        })
        .collect()
}

/// Every rect lies inside its parent (the nearest earlier rect one level down), siblings do
/// not overlap, and children never add up to more than their parent.
fn assert_nested(g: &Graph) {
    assert_eq!(g.rects[0].node, Node::Root);
    assert_eq!((g.rects[0].start, g.rects[0].count), (0, g.total));
    let mut path: Vec<(Rect, u64)> = Vec::new(); // (rect, end of the last child)
    for r in &g.rects {
        while path.len() > r.depth as usize {
            path.pop();
        }
        if let Some((parent, last_end)) = path.last_mut() {
            assert_eq!(parent.depth + 1, r.depth, "{r:?} skips a level");
            assert!(r.start >= *last_end, "{r:?} overlaps a sibling");
            assert!(
                r.start + r.count <= parent.start + parent.count,
                "{r:?} outside {parent:?}"
            );
            assert!(r.count > 0);
            *last_end = r.start + r.count;
        } else {
            assert_eq!(r.depth, 0, "a second root {r:?}");
        }
        path.push((*r, r.start));
    }
}

#[test]
fn sorted_nested_with_idle_and_failed_first() {
    let p = profile(
        &[
            (&[("a.py", "main", 1), ("a.py", "work", 5)], 3),
            (&[("a.py", "main", 1), ("a.py", "load", 9)], 2),
            (&[("a.py", "main", 1)], 1),
            (
                &[
                    ("a.py", "main", 1),
                    ("a.py", "work", 5),
                    ("b.py", "leaf", 2),
                ],
                4,
            ),
        ],
        2,
        1,
    );
    let g = layout(&p, WIDE);
    assert_nested(&g);
    assert_eq!(g.total, 13);
    assert_eq!(g.max_depth, 3);
    let want = [
        (0, 0, 13, "all"),
        (1, 0, 2, "(idle)"),
        (1, 2, 1, "(failed)"),
        // main's own sample first, then its callees sorted by name: load before work.
        (1, 3, 10, "main:1"),
        (2, 4, 2, "load:9"),
        (2, 6, 7, "work:5"),
        (3, 9, 4, "leaf:2"),
    ];
    let got = summary(&p, &g);
    let got: Vec<(u32, u64, u64, &str)> = got
        .iter()
        .map(|(d, s, c, l)| (*d, *s, *c, l.as_str()))
        .collect();
    assert_eq!(got, want);
    // The same samples recorded in another order give the same graph.
    let q = profile(
        &[
            (
                &[
                    ("a.py", "main", 1),
                    ("a.py", "work", 5),
                    ("b.py", "leaf", 2),
                ],
                4,
            ),
            (&[("a.py", "main", 1)], 1),
            (&[("a.py", "main", 1), ("a.py", "load", 9)], 2),
            (&[("a.py", "main", 1), ("a.py", "work", 5)], 3),
        ],
        2,
        1,
    );
    assert_eq!(summary(&q, &layout(&q, WIDE)), summary(&p, &g));
}

#[test]
fn frames_narrower_than_a_pixel_are_merged() {
    // 1000 pixels; 10000 samples of hot, then 3000 one-sample callees of main (0.1 px each,
    // with callees of their own), then one more wide frame after them.
    let mut p = profile(
        &[(&[("a.py", "main", 1), ("a.py", "zz_hot", 2)], 10_000)],
        0,
        0,
    );
    let names: Vec<String> = (0..3000).map(|i| format!("f{i:04}")).collect();
    for name in &names {
        let stack = frames(&[("a.py", "main", 1), ("a.py", name, 3), ("a.py", "deep", 4)]);
        p.record(0, Observation::Stacks(&[stack]));
    }
    let g = layout(
        &p,
        Shape {
            pixels: 1000,
            ..WIDE
        },
    );
    assert_nested(&g);
    let got = summary(&p, &g);
    let want = [
        (0, 0, 13_000, "all".to_string()),
        (1, 0, 13_000, "main:1".to_string()),
        (2, 0, 3000, "3000 merged".to_string()),
        (2, 3000, 10_000, "zz_hot:2".to_string()),
    ];
    assert_eq!(got, want);
    assert_eq!(g.rects[2].merged, 3000);
    // A single narrow frame keeps its name; its callees are left out.
    let q = profile(
        &[
            (&[("a.py", "main", 1), ("a.py", "big", 2)], 5000),
            (
                &[("a.py", "main", 1), ("a.py", "small", 3), ("a.py", "x", 4)],
                1,
            ),
        ],
        0,
        0,
    );
    let g = layout(
        &q,
        Shape {
            pixels: 1000,
            ..WIDE
        },
    );
    assert_nested(&g);
    let labels: Vec<String> = summary(&q, &g).into_iter().map(|r| r.3).collect();
    assert_eq!(labels, ["all", "main:1", "big:2", "small:3"]);
    assert_eq!(g.rects[3].merged, 1);
}

#[test]
fn many_distinct_stacks_give_few_rects() {
    // 20,000 distinct stacks of 1 to 3 samples: 1,180 pixels can show little of them (make
    // bench renders 100,000).
    let p = distinct_stacks(20_000);
    assert_eq!(p.stacks.len(), 20_000);
    let g = layout(
        &p,
        Shape {
            pixels: 1180,
            ..WIDE
        },
    );
    assert_nested(&g);
    assert_eq!(g.total, 39_999);
    assert!(g.rects.len() < 5_000, "{} rects", g.rects.len());
}

#[test]
fn time_order_keeps_the_sequence() {
    let a = frames(&[("a.py", "main", 1), ("a.py", "a", 2)]);
    let b = frames(&[("a.py", "main", 1), ("a.py", "b", 3)]);
    let mut p = Profile::new(true, false, true);
    for seen in [&a, &a, &b, &a] {
        p.record(0, Observation::Stacks(std::slice::from_ref(seen)));
    }
    p.record(0, Observation::Idle);
    p.record(0, Observation::Stacks(std::slice::from_ref(&b)));
    let g = layout(
        &p,
        Shape {
            time_order: true,
            ..WIDE
        },
    );
    assert_nested(&g);
    let got: Vec<(u32, u64, u64, String)> = summary(&p, &g);
    let want = [
        (0, 0, 6, "all"),
        (1, 0, 4, "main:1"),
        (2, 0, 2, "a:2"),
        (2, 2, 1, "b:3"),
        (2, 3, 1, "a:2"),
        (1, 4, 1, "(idle)"),
        (1, 5, 1, "main:1"),
        (2, 5, 1, "b:3"),
    ];
    let got: Vec<(u32, u64, u64, &str)> = got
        .iter()
        .map(|(d, s, c, l)| (*d, *s, *c, l.as_str()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_tower_per_thread_when_asked() {
    let mut p = Profile::new(true, false, true);
    let t8 = thread(8, &[("a.py", "main", 1)]);
    let t7 = thread(7, &[("a.py", "main", 1)]);
    p.record(0, Observation::Threads(&[t8.clone(), t7.clone()]));
    p.record(0, Observation::Threads(std::slice::from_ref(&t8)));
    p.record(0, Observation::Stacks(&[frames(&[("a.py", "main", 1)])]));
    let labels = |shape| -> Vec<(u32, u64, String)> {
        let g = layout(&p, shape);
        assert_nested(&g);
        summary(&p, &g)
            .into_iter()
            .map(|(d, _, c, l)| (d, c, l))
            .collect()
    };
    let towers = Shape {
        per_thread: true,
        ..WIDE
    };
    let want = [
        (0, 4, "all"),
        (1, 1, "main:1"), // a stack without a named thread
        (1, 1, "thread 7 tid=1007"),
        (2, 1, "main:1"),
        (1, 2, "thread 8 tid=1008"),
        (2, 2, "main:1"),
    ];
    let want: Vec<(u32, u64, String)> = want
        .iter()
        .map(|(d, c, l)| (*d, *c, l.to_string()))
        .collect();
    assert_eq!(labels(towers), want);
    // The same in time order (each tower keeps its own order).
    assert_eq!(
        labels(Shape {
            time_order: true,
            ..towers
        }),
        want
    );
    // Without the option, one stack of 4 samples.
    let merged = labels(WIDE);
    assert_eq!(
        merged,
        [(0, 4, "all".to_string()), (1, 4, "main:1".to_string())]
    );
}

#[test]
fn an_empty_profile_is_just_the_root() {
    let p = Profile::new(true, true, false);
    let g = layout(&p, WIDE);
    assert_eq!((g.rects.len(), g.total, g.max_depth), (1, 0, 0));
}
