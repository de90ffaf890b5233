//! One stable sort for the whole binary. Each `slice::sort_by` call with its own element
//! and closure type instantiates the standard library's driftsort again (~4.5 kB of
//! machine code each); a dozen call sites cost ~45 kB of the 2 MiB static budget. Here
//! the standard sort is instantiated once, on positions with a `dyn` comparison, and a
//! call site adds only a short permutation loop. The result is the same as
//! `slice::sort_by`'s: elements that compare equal keep their order.

use std::cmp::Ordering;

pub fn sort_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let order = stable_order(v.len(), &|a, b| cmp(&v[a], &v[b]));
    permute(order, &mut |a, b| v.swap(a, b));
}

pub fn sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(v, |a, b| key(a).cmp(&key(b)));
}

pub fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, T::cmp);
}

/// The old position of what belongs at each new position. Sorting the positions
/// 0..len stably keeps equal elements in their old order.
#[inline(never)]
fn stable_order(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// Moves the element at `order[i]` to `i` with swaps, following each cycle of the
/// permutation once: the element displaced from a cycle's start travels along it.
#[inline(never)]
fn permute(order: Vec<usize>, swap: &mut dyn FnMut(usize, usize)) {
    let mut done = vec![false; order.len()];
    for start in 0..order.len() {
        let mut at = start;
        while !done[at] {
            done[at] = true;
            let from = order[at];
            if from == start {
                break;
            }
            swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_stable_sort() {
        // Every arrangement of a few keys with ties, tagged with their old position so a
        // change in the order of equal keys shows.
        let keys = [3u8, 1, 2, 1, 3, 0, 2];
        for rot in 0..keys.len() {
            for step in [1usize, 2, 3, 5] {
                let input: Vec<(u8, usize)> =
                    (0..keys.len()).map(|i| (keys[(rot + i * step) % keys.len()], i)).collect();
                let mut ours = input.clone();
                sort_by_key(&mut ours, |e| e.0);
                let mut std = input.clone();
                std.sort_by_key(|e| e.0);
                assert_eq!(ours, std, "input {input:?}");
            }
        }
        let mut words = vec!["pear", "fig", "apple", "fig", "date"];
        sort(&mut words);
        assert_eq!(words, ["apple", "date", "fig", "fig", "pear"]);
        let mut empty: Vec<u8> = Vec::new();
        sort(&mut empty);
        assert!(empty.is_empty());
    }
}
