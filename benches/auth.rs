//! The cost of one PIN guess: checking a PIN against its argon2id hash must take at least 50 ms
//! on the till's machine (`auth/check_pin`), so that a stolen hash costs an attacker that much per
//! guess (ARCHITECTURE.md says what that buys). A hash made now is what the till stores.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use till::auth::{Role, User, hash_pin};

fn bench(c: &mut Criterion) {
    let user = User::new("m", "M", Role::Manager, hash_pin("864213").unwrap());
    let mut group = c.benchmark_group("auth");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    group.bench_function("check_pin", |b| b.iter(|| black_box(user.check_pin(black_box("864213")))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
