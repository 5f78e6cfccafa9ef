//! What sled alone costs for the records hookflow writes, with nothing else running: the floor
//! under the ingest and sustained-booking figures of `scripts/bench.sh`.
//!
//! It writes, on one thread, the keys and value sizes `scripts/disk_per_booking.py` lists for a
//! booking (the request and its index entry; the queue entry, added and removed; the run and
//! its three index entries; the contact, its email, phone, search and tag entries and its
//! timeline (one key for the run's three entries); the unsubscribe token;
//! the email's row, body and pending mark, the mark removed once sent), in rounds as hookflow
//! batches them: the committer's round of 32 requests (one transaction, one flush), the
//! worker's batch of 64 runs (one transaction), the mailer's state changes (one transaction),
//! and one flush a round; then draft requests alone. It prints the process's CPU time a
//! booking and a request, sled's I/O threads included, against the CPU the goals of
//! "Performance at the limit" leave for everything on a 2-core box.
//!   cargo run --release --example sled_floor [BOOKINGS]      (default 50000)
use sled::Transactional;
use std::time::Instant;

/// Increasing 16-byte ids with a 10-byte random tail, like ULIDs in their 26-character text.
fn ulid(n: u64, salt: u64) -> String {
    let mix = (n ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("01J{n:013X}{mix:010X}")
}

/// `len` bytes that do not repeat (sled compresses nothing here; hookflow's records are
/// already compressed when sled gets them).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

/// The process's CPU seconds so far (all threads: sled's I/O threads too).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn open(dir: &std::path::Path) -> sled::Db {
    // hookflow's settings (src/store/mod.rs): a third of the default 32 MiB `--cache`.
    sled::Config::new()
        .path(dir)
        .mode(sled::Mode::HighThroughput)
        .cache_capacity(32 * 1024 * 1024 / 3)
        .open()
        .expect("sled opens")
}

fn main() {
    let bookings: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("BOOKINGS is a number"))
        .unwrap_or(50_000);
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir.path().join("bookings"));
    let t = |name: &str| db.open_tree(name).unwrap();
    let (requests, requests_index, queue, counts) =
        (t("requests"), t("requests_index"), t("queue"), t("counts"));
    let (runs, runs_index, contacts, by_email, by_phone, timeline, search) = (
        t("runs"),
        t("runs_index"),
        t("contacts"),
        t("contacts_by_email"),
        t("contacts_by_phone"),
        t("contacts_timeline"),
        t("contacts_index"),
    );
    let (outbox, bodies, pending, unsubscribe) = (
        t("outbox"),
        t("outbox_bodies"),
        t("outbox_pending"),
        t("unsubscribe"),
    );

    let cpu0 = cpu_seconds();
    let wall = Instant::now();
    for round in 0..bookings.div_ceil(64) {
        let ids: Vec<u64> = (round * 64..((round + 1) * 64).min(bookings)).collect();
        // The committer: two rounds of 32 requests, each one transaction and one flush.
        for half in ids.chunks(32) {
            (&requests, &requests_index, &queue, &counts)
                .transaction(|(r, ri, q, c)| {
                    for &n in half {
                        let id = ulid(n, 1);
                        r.insert(id.as_bytes(), bytes(508, n))?;
                        ri.insert(format!("cbooking\0accepted\0{id}").as_bytes(), &[])?;
                        q.insert(&n.to_be_bytes(), bytes(900, n))?;
                    }
                    c.insert(&b"booking\0accepted"[..], &round.to_be_bytes())?;
                    Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                })
                .unwrap();
            db.flush().unwrap();
        }
        // The worker: the batch's runs, each every step, in one transaction.
        let trees = [
            &queue,
            &runs,
            &runs_index,
            &contacts,
            &by_email,
            &by_phone,
            &timeline,
            &search,
            &outbox,
            &bodies,
            &pending,
            &unsubscribe,
        ];
        trees[..]
            .transaction(|tx| {
                let [q, r, ri, c, e, p, tl, s, o, b, pe, u] = &tx[..] else {
                    unreachable!()
                };
                for &n in &ids {
                    let (run, contact, email) = (ulid(n, 2), ulid(n, 3), ulid(n, 4));
                    q.remove(&n.to_be_bytes())?;
                    r.insert(run.as_bytes(), bytes(769, n))?;
                    for list in ["sbooking", "wsucceeded", &format!("c{contact}")] {
                        ri.insert(format!("{list}\0{run}").as_bytes(), &[])?;
                    }
                    c.insert(contact.as_bytes(), bytes(208, n))?;
                    let address =
                        format!("patient{:08}@example.com", n.wrapping_mul(7919) % 1_000_003);
                    e.insert(address.as_bytes(), contact.as_bytes())?;
                    p.insert(
                        format!("+1555{:07}", n.wrapping_mul(104729) % 10_000_000).as_bytes(),
                        contact.as_bytes(),
                    )?;
                    // The run's three entries share one key (`contacts/timeline.rs`).
                    tl.insert(format!("{contact}\0{run}").as_bytes(), bytes(198, n))?;
                    s.insert(format!("s{contact}").as_bytes(), bytes(40, n))?;
                    s.insert(format!("tbooked\0{contact}").as_bytes(), &[])?;
                    u.insert(
                        format!("{:032x}", n.wrapping_mul(0x9E37_79B9)).as_bytes(),
                        contact.as_bytes(),
                    )?;
                    o.insert(email.as_bytes(), bytes(306, n))?;
                    b.insert(email.as_bytes(), bytes(526, n))?;
                    pe.insert(email.as_bytes(), &[])?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .unwrap();
        // The mailer: the rows marked sent and their pending marks removed, then a flush.
        (&outbox, &pending)
            .transaction(|(o, pe)| {
                for &n in &ids {
                    let email = ulid(n, 4);
                    o.insert(email.as_bytes(), bytes(306, n + 1))?;
                    pe.remove(email.as_bytes())?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .unwrap();
        db.flush().unwrap();
    }
    let booking_cpu = (cpu_seconds() - cpu0) / bookings as f64;
    let booking_wall = wall.elapsed().as_secs_f64() / bookings as f64;

    // Draft requests alone: the committer's rounds of 32, each a transaction and a flush.
    let drafts = bookings * 2;
    let db = open(&dir.path().join("drafts"));
    let (requests, requests_index, counts) = (
        db.open_tree("requests").unwrap(),
        db.open_tree("requests_index").unwrap(),
        db.open_tree("counts").unwrap(),
    );
    let cpu0 = cpu_seconds();
    let wall = Instant::now();
    for round in 0..drafts.div_ceil(32) {
        (&requests, &requests_index, &counts)
            .transaction(|(r, ri, c)| {
                for n in round * 32..((round + 1) * 32).min(drafts) {
                    let id = ulid(n, 5);
                    r.insert(id.as_bytes(), bytes(508, n))?;
                    ri.insert(format!("cdraft\0captured\0{id}").as_bytes(), &[])?;
                }
                c.insert(&b"draft\0captured"[..], &round.to_be_bytes())?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .unwrap();
        db.flush().unwrap();
    }
    let draft_cpu = (cpu_seconds() - cpu0) / drafts as f64;
    let draft_wall = wall.elapsed().as_secs_f64() / drafts as f64;

    println!("sled alone, one thread, {bookings} bookings and {drafts} draft requests:");
    println!(
        "  a booking's records: {:.0} µs of CPU ({:.0} µs wall) -> at most {:.0} bookings/s on 2 cores with nothing else",
        booking_cpu * 1e6,
        booking_wall * 1e6,
        2.0 / booking_cpu
    );
    println!(
        "  a draft request's records: {:.1} µs of CPU ({:.1} µs wall) -> at most {:.0} requests/s on 2 cores",
        draft_cpu * 1e6,
        draft_wall * 1e6,
        2.0 / draft_cpu
    );
}
