//! A reading that changes nothing allocates nothing: the rules matching a series are found
//! once and cached, and every detector keeps constant-size state.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use telltale_alerts::{Evaluator, RuleSet, Target};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// thread-local integer.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn quiet_readings_and_ticks_allocate_nothing() {
    let rules = RuleSet::from_toml(
        "[[rule]]\nid = \"hi\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"high\"\nlimit = 100\non_delay_s = 60\n\
         [[rule]]\nid = \"lo\"\ndevice = \"*\"\ndevice_kind = \"freezer\"\ntags = [\"garage\"]\nmetric = \"t\"\nkind = \"low\"\nlimit = -100\n\
         [[rule]]\nid = \"rate\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"rate\"\nlimit = 100\nwindow_s = 600\n\
         [[rule]]\nid = \"odd\"\ndevice = \"*\"\nmetric = \"t\"\nkind = \"anomaly\"\nwarmup = 10\n\
         [[rule]]\nid = \"quiet\"\ndevice = \"*\"\nkind = \"stale\"\nstale_after_s = 600\n\
         [[rule]]\nid = \"other\"\ndevice = \"*\"\nmetric = \"humidity\"\nkind = \"high\"\nlimit = 0\n",
    )
    .unwrap();
    let tags = vec!["garage".to_owned()];
    let target = Target {
        id: "ble:CHEST",
        device: "chest",
        kind: Some("freezer"),
        tags: &tags,
        metric: "t",
        unit: Some("°C"),
    };
    let mut ev = Evaluator::new(rules);
    let value = |i: i64| -18.0 + 0.1 * ((i * 7) % 5) as f64;
    let first = allocations();
    assert!(ev.observe(&target, 0, value(0)).is_empty());
    assert!(
        allocations() > first,
        "a new series is set up once (and counted)"
    );
    let before = allocations();
    for i in 1..2000i64 {
        let out = ev.observe(&target, i * 10_000, value(i));
        assert!(out.is_empty(), "{i}: {out:?}");
        if i % 10 == 0 {
            assert!(ev.tick(i * 10_000 + 1).is_empty());
        }
    }
    assert_eq!(allocations() - before, 0, "allocations on the hot path");
}
