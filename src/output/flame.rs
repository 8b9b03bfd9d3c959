//! The geometry of a flame graph, apart from drawing it: the profile's stacks in display order
//! (sorted, or in time order for `--flamechart`), merged into frames as flamegraph.pl's flow
//! does (equal prefixes of neighbouring stacks are one frame), with runs of sibling frames
//! narrower than a pixel merged into one frame, so that the widths still add up.

use std::cmp::Ordering;

use crate::profile::{Event, FrameId, Profile};

/// What a frame of the graph stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// "all": every sample.
    Root,
    Idle,
    Failed,
    /// A thread's tower (an index into `Profile::threads`).
    Thread(u32),
    Frame(FrameId),
}

/// One frame of the graph: `count` samples from sample position `start`, at `depth` (root 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub node: Node,
    pub depth: u32,
    pub start: u64,
    pub count: u64,
    /// How many frames narrower than a pixel this one stands for (their callees left out);
    /// 0 for an ordinary frame, 1 for a single narrow frame that keeps its own name.
    pub merged: u32,
}

pub struct Graph {
    /// Parents before their children, siblings left to right (pre-order).
    pub rects: Vec<Rect>,
    pub total: u64,
    pub max_depth: u32,
}

/// How the stacks are laid out.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// A tower per thread (when the sampler named the threads).
    pub per_thread: bool,
    /// Keep the time order of the samples (a flame chart) instead of sorting them.
    pub time_order: bool,
    /// The width the root gets, in pixels: frames narrower than one are merged.
    pub pixels: u64,
}

/// A run of samples with one path from the root: a thread tower or a special frame first,
/// then the frames of a stack.
#[derive(Clone, Copy)]
struct Item<'p> {
    head: Option<Node>,
    /// The stack's frames, outermost first (empty for a special frame).
    frames: &'p [FrameId],
    weight: u64,
}

/// The frames of a profile.
pub fn layout(p: &Profile, shape: Shape) -> Graph {
    let items = items(p, shape);
    let total: u64 = items.iter().map(|i| i.weight).sum();
    let mut flow = Flow {
        total,
        pixels: shape.pixels.max(1),
        open: Vec::new(),
        rects: Vec::new(),
    };
    let mut pos = 0;
    for item in &items {
        flow.add(*item, pos);
        pos += item.weight;
    }
    flow.close_to(0, pos);
    let mut rects = flow.rects;
    rects.push(Rect {
        node: Node::Root,
        depth: 0,
        start: 0,
        count: total,
        merged: 0,
    });
    // Post-order to pre-order: a parent starts where its first child does, one level lower.
    let order = sorted(rects.len(), &|a, b| {
        (rects[a].start, rects[a].depth).cmp(&(rects[b].start, rects[b].depth))
    });
    let rects: Vec<Rect> = order.into_iter().map(|i| rects[i]).collect();
    let max_depth = rects.iter().map(|r| r.depth).max().unwrap_or(0);
    Graph {
        rects,
        total,
        max_depth,
    }
}

fn node_at(item: Item, depth: usize) -> Option<Node> {
    match item.head {
        Some(head) if depth == 0 => Some(head),
        Some(_) => item.frames.get(depth - 1).map(|&f| Node::Frame(f)),
        None => item.frames.get(depth).map(|&f| Node::Frame(f)),
    }
}

fn items(p: &Profile, shape: Shape) -> Vec<Item<'_>> {
    let thread_head = |stack: u32| match p.stacks[stack as usize].thread {
        Some(t) if shape.per_thread => Some(Node::Thread(t)),
        _ => None,
    };
    let special = |node, weight| Item {
        head: Some(node),
        frames: &[],
        weight,
    };
    let order = Order::new(p);
    let mut items = Vec::new();
    match (&p.timeline, shape.time_order) {
        (Some(timeline), true) => {
            for &(_, event) in timeline {
                items.push(match event {
                    Event::Idle => special(Node::Idle, 1),
                    Event::Failed => special(Node::Failed, 1),
                    Event::Stack(id) => Item {
                        head: thread_head(id),
                        frames: &p.stacks[id as usize].frames,
                        weight: 1,
                    },
                });
            }
            // One tower per thread, each in time order.
            if shape.per_thread {
                let towers: Vec<u64> = items.iter().map(|i| order.tower(i.head)).collect();
                let by_tower = sorted(items.len(), &|a, b| (towers[a], a).cmp(&(towers[b], b)));
                items = by_tower.into_iter().map(|i| items[i]).collect();
            }
        }
        _ => {
            let (idle, failed) = p.specials();
            if idle > 0 {
                items.push(special(Node::Idle, idle));
            }
            if failed > 0 {
                items.push(special(Node::Failed, failed));
            }
            // Each stack's sort key (its tower, then its frames) in one buffer: comparing two
            // stacks compares two slices of it, without chasing pointers.
            let mut keys = Vec::with_capacity(p.stacks.iter().map(|s| s.frames.len() + 1).sum());
            let mut stacks = Vec::with_capacity(p.stacks.len());
            for (id, s) in p.stacks.iter().enumerate().filter(|(_, s)| s.count > 0) {
                let item = Item {
                    head: thread_head(id as u32),
                    frames: &s.frames,
                    weight: s.count,
                };
                let from = keys.len();
                keys.push(order.tower(item.head));
                keys.extend(s.frames.iter().map(|&f| order.frame(f)));
                stacks.push((from..keys.len(), item));
            }
            // Unstable is enough: stacks with equal keys have the same path.
            let by_key = sorted(stacks.len(), &|a, b| {
                keys[stacks[a].0.clone()].cmp(&keys[stacks[b].0.clone()])
            });
            items.extend(by_key.into_iter().map(|i| stacks[i].1));
        }
    }
    items
}

/// The display order: specials (idle, failed) first, then stacks of unnamed threads, then
/// threads by id; frames by file, then function, then line number.
struct Order {
    /// Code index -> rank of its (filename, name).
    code: Vec<u64>,
    /// Thread index -> rank of its key.
    thread: Vec<u64>,
}

impl Order {
    fn new(p: &Profile) -> Order {
        // Codes are distinct by text (see Profile), so the order is total.
        let codes = sorted(p.codes.len(), &|a, b| {
            let (a, b) = (&p.codes[a], &p.codes[b]);
            (&a.filename, &a.name).cmp(&(&b.filename, &b.name))
        });
        let mut code = vec![0; codes.len()];
        for (rank, &c) in codes.iter().enumerate() {
            code[c] = rank as u64;
        }
        let mut thread = vec![0; p.threads.len()];
        for (rank, t) in thread_order(p).into_iter().enumerate() {
            thread[t] = rank as u64;
        }
        Order { code, thread }
    }

    fn tower(&self, head: Option<Node>) -> u64 {
        match head {
            Some(Node::Idle) => 0,
            Some(Node::Failed) => 1,
            None => 2,
            Some(Node::Thread(t)) => 3 + self.thread[t as usize],
            Some(_) => u64::MAX,
        }
    }

    /// The code's rank, then the line (shifted so that the order of i32 is kept).
    fn frame(&self, (code, line): FrameId) -> u64 {
        self.code[code as usize] << 32 | u64::from((line as u32) ^ 0x8000_0000)
    }
}

/// The threads (indices into `Profile::threads`) by their keys, thread id first.
pub fn thread_order(p: &Profile) -> Vec<usize> {
    sorted(p.threads.len(), &|a, b| p.threads[a].cmp(&p.threads[b]))
}

/// The indices `0..n` in the order `cmp` gives them. Every sort here goes through this one
/// function, so the binary has one copy of the sorting code (each closure type would add one).
pub(super) fn sorted(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..n).collect();
    indices.sort_unstable_by(|&a, &b| cmp(a, b));
    indices
}

/// flamegraph.pl's flow: the frames still open (the previous item's path) and those closed.
struct Flow {
    total: u64,
    pixels: u64,
    /// (node, start, `rects.len()` when it opened: where its callees begin).
    open: Vec<(Node, u64, usize)>,
    /// Closed frames, in post-order.
    rects: Vec<Rect>,
}

impl Flow {
    fn add(&mut self, item: Item, pos: u64) {
        let mut common = 0;
        while common < self.open.len() && node_at(item, common) == Some(self.open[common].0) {
            common += 1;
        }
        self.close_to(common, pos);
        while let Some(node) = node_at(item, self.open.len()) {
            self.open.push((node, pos, self.rects.len()));
        }
    }

    /// Closes the open frames deeper than `keep`, at sample position `end`.
    fn close_to(&mut self, keep: usize, end: u64) {
        while self.open.len() > keep {
            let (node, start, callees) = self.open.pop().expect("open frame");
            let depth = self.open.len() as u32 + 1;
            let count = end - start;
            let rect = Rect {
                node,
                depth,
                start,
                count,
                merged: 0,
            };
            // Narrower than a pixel: count / total * pixels < 1.
            if u128::from(count) * u128::from(self.pixels) >= u128::from(self.total) {
                self.rects.push(rect);
                continue;
            }
            // Its callees are narrower still: leave them out, and merge it into the previous
            // sibling if that is narrow too (the last rect, if it was closed under the parent).
            self.rects.truncate(callees);
            let siblings_from = self.open.last().map_or(0, |o| o.2);
            let n = self.rects.len();
            let prev_is_narrow_sibling = n > siblings_from && {
                let prev = &self.rects[n - 1];
                prev.merged > 0 && prev.depth == depth && prev.start + prev.count == start
            };
            if prev_is_narrow_sibling {
                let prev = &mut self.rects[n - 1];
                prev.count += count;
                prev.merged += 1;
            } else {
                self.rects.push(Rect { merged: 1, ..rect });
            }
        }
    }
}

#[cfg(test)]
#[path = "flame_tests.rs"]
mod tests;
