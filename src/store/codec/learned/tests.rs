use crate::store::codec::{json_of, COMPRESSED_V1};
use crate::store::runs::RunRecord;
use crate::store::test_fixtures::started_run;
use crate::store::{Store, StoreError};
use serde_json::json;
use zstd::zstd_safe;

/// A booking's run as the worker writes it: the same workflow, another patient each time.
fn booking(n: usize) -> RunRecord {
    let names = [
        "Jane", "Omar", "Priya", "Lucas", "Mei", "Aiden", "Fatima", "Noah",
    ];
    let first = names[n % names.len()];
    let mut run = started_run(
        &format!("01M8SJ1H2Y1AAG01H8{n:08}"),
        "optimantra-booking",
        format!("2026-12-01T19:{:02}:{:02}.168Z", n / 60 % 60, n % 60),
    );
    run.item = json!({
        "firstName": first, "lastName": "Okafor", "email": format!("{}.{n}@example.com", first.to_lowercase()),
        "phone": format!("+1212{:07}", 2_000_000 + n), "appointmentId": format!("OM-{n}"),
        "appointmentType": "Initial Naturopathic Consultation (60 min)",
        "practitioner": "Dr. Maya Chen, ND", "location": "Bayview Integrative Health, 2150 Lombard St",
    });
    run.request = json!({"headers": {"content-type": "application/json", "user-agent": "OptiMantra-Webhooks/2.1"}});
    run
}

fn stored(store: &Store, id: &str) -> Vec<u8> {
    store.trees.runs.get(id).unwrap().unwrap().to_vec()
}

/// The zstd dictionary a stored record was compressed against (0: the built-in one).
fn dictionary_of(bytes: &[u8]) -> u32 {
    assert_eq!(bytes[0], COMPRESSED_V1, "a compressed record");
    zstd_safe::get_dict_id_from_frame(&bytes[1..])
}

/// A new store that has learned its dictionary, and how many bookings that took.
fn learned_store() -> (tempfile::TempDir, Store, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut n = 0;
    while !store.learning.is_learned() {
        assert!(n < 2 * super::SAMPLES, "not learned after {n} records");
        store.learning_own_dictionary(|| store.save_run(&booking(n)).unwrap());
        n += 1;
    }
    (dir, store, n)
}

#[test]
fn a_store_learns_its_own_dictionary_from_its_records_and_keeps_it_across_a_reopen() {
    let (dir, store, n) = learned_store();
    // The records before it keep the built-in dictionary and still read.
    assert_eq!(dictionary_of(&stored(&store, &booking(0).id)), 0);

    let next = booking(n);
    store.with_own_dictionary(|| store.save_run(&next).unwrap());
    let own = stored(&store, &next.id);
    let learned = dictionary_of(&own);
    assert_ne!(learned, 0);
    // Outside the scope, the same record is compressed the built-in way: much longer.
    store.save_run(&booking(n + 1)).unwrap();
    let builtin = stored(&store, &booking(n + 1).id);
    assert_eq!(dictionary_of(&builtin), 0);
    assert!(
        own.len() * 2 < builtin.len(),
        "{} bytes with the store's dictionary, {} with the built-in one",
        own.len(),
        builtin.len()
    );
    let json = json_of(&own).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&json).unwrap(),
        serde_json::to_value(&next).unwrap()
    );
    drop(store);

    // Opened again, it compresses against the same dictionary from the first record on.
    let store = Store::open(dir.path()).unwrap();
    assert!(store.learning.is_learned());
    let later = booking(n + 2);
    store.with_own_dictionary(|| store.save_run(&later).unwrap());
    assert_eq!(dictionary_of(&stored(&store, &later.id)), learned);
    for id in [booking(0).id, next.id, later.id] {
        assert_eq!(store.run(&id).unwrap().unwrap().id, id);
    }
}

#[test]
fn a_record_needing_a_dictionary_reads_once_its_store_is_opened_and_not_before() {
    // A dictionary this process has never seen: trained here, put straight into a store.
    let samples: Vec<Vec<u8>> = (0..400)
        .map(|n| {
            serde_json::to_vec(&json!({"kind": "unseen-by-any-other-test", "n": n,
                "clinic": format!("Harbour Physio {}", n % 7), "note": "left knee, second visit"}))
            .unwrap()
        })
        .collect();
    let dict = zstd::dict::from_samples(&samples, 4096).unwrap();
    let id = zstd_safe::get_dict_id_from_dict(&dict);
    assert!(super::decoder(id).is_none());
    let run = booking(7);
    let json = serde_json::to_vec(&run).unwrap();
    let mut frame = vec![0u8; zstd_safe::compress_bound(json.len())];
    let cdict = zstd_safe::create_cdict(&dict, super::LEVEL);
    let len = zstd_safe::create_cctx()
        .compress_using_cdict(&mut frame, &json, &cdict)
        .unwrap();
    let record = [&[COMPRESSED_V1][..], &frame[..len]].concat();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .db
        .open_tree(super::TREE)
        .unwrap()
        .insert(1u64.to_be_bytes(), dict)
        .unwrap();
    store.trees.runs.insert(&run.id, record).unwrap();
    match store.run(&run.id) {
        Err(StoreError::Corrupt { tree, message }) => {
            assert_eq!(tree, "runs");
            assert!(
                message.contains(&format!("needs dictionary {id}")),
                "{message}"
            );
        }
        other => panic!("expected the missing dictionary named, got {other:?}"),
    }
    store.flush_now().unwrap();
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        serde_json::to_value(store.run(&run.id).unwrap().unwrap()).unwrap(),
        serde_json::to_value(&run).unwrap()
    );
    // It is also the one the store compresses against now.
    let next = booking(8);
    store.with_own_dictionary(|| store.save_run(&next).unwrap());
    assert_eq!(dictionary_of(&stored(&store, &next.id)), id);
}

#[test]
fn a_compacted_store_keeps_its_dictionary_and_its_records() {
    let (dir, store, n) = learned_store();
    let last = booking(n);
    store.with_own_dictionary(|| store.save_run(&last).unwrap());
    let learned = dictionary_of(&stored(&store, &last.id));
    store.flush_now().unwrap();
    drop(store);

    crate::store::compact::compact(dir.path(), 8 << 20).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.learning.is_learned());
    assert_eq!(dictionary_of(&stored(&store, &last.id)), learned);
    assert_eq!(store.run(&last.id).unwrap().unwrap().item, last.item);
}

#[test]
fn a_csv_import_inside_the_scope_compresses_its_contacts_against_the_stores_dictionary() {
    use crate::store::contacts::ChangeCtx;
    let (_dir, store, _) = learned_store();
    let csv = |from: usize| {
        let rows: String = (from..from + 50)
            .map(|i| {
                format!(
                    "Pat{i},Okafor,pat{i}@example.org,+1212{:07}\n",
                    3_000_000 + i
                )
            })
            .collect();
        format!("first_name,last_name,email,phone\n{rows}")
    };
    let import = |from: usize| {
        let report = store
            .contacts
            .import_csv(csv(from).as_bytes(), "US", &ChangeCtx::import(9))
            .unwrap();
        assert_eq!(report.created, 50);
    };
    store.with_own_dictionary(|| import(0));
    import(50);
    let mut own = 0;
    for kv in store.contacts.contacts.iter() {
        let (id, bytes) = kv.unwrap();
        own += usize::from(dictionary_of(&bytes) != 0);
        let id = std::str::from_utf8(&id).unwrap();
        assert_eq!(store.contacts.get(id).unwrap().unwrap().id, id);
    }
    // The first file's contacts with the store's dictionary, the second's (outside) without.
    assert_eq!(own, 50);
}

#[test]
fn only_the_run_workers_scope_takes_samples_to_learn_from() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for n in 0..super::SAMPLES + 16 {
        store.with_own_dictionary(|| store.save_run(&booking(n)).unwrap());
    }
    // The worker's next batch would learn now if those had been samples.
    store.learning_own_dictionary(|| ());
    assert!(!store.learning.is_learned());
}

/// Three kinds of record as a batch's commit encodes them: every pending write of one tree,
/// then of the next (a full batch is 64 bookings).
fn kinds_in_blocks(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let (block, n) = (i / 64, i % 64 + i / 192 * 64);
            match block % 3 {
                0 => serde_json::to_vec(&booking(n)).unwrap(),
                1 => contact_json(n),
                _ => email_json(n),
            }
        })
        .collect()
}

fn contact_json(n: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "contact_id": format!("ct_01M8SJ1H2Y1AAG{n:010}"),
        "first_name": "Mei", "last_name": format!("Okafor{n}"),
        "email": format!("mei.{n}@example.com"), "phone": format!("+1212{:07}", 3_000_000 + n),
        "tags": ["Booked", "new-patient"], "source": "optimantra",
        "custom": {"preferred_practitioner": "Dr. Maya Chen, ND", "clinic": "Bayview"},
        "created_at": format!("2026-12-01T19:{:02}:{:02}.168Z", n / 60 % 60, n % 60),
    }))
    .unwrap()
}

/// An email row: a struct that begins with `"id"`, as a run does.
fn email_json(n: usize) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Email {
        id: String,
        to: String,
        from: &'static str,
        subject: String,
        html: String,
    }
    let day = n % 28 + 1;
    serde_json::to_vec(&Email {
        id: format!("01M8SJ1H2Y1AAG{n:012}"),
        to: format!("lucas.{n}@example.com"),
        from: "Bayview Integrative Health <hello@bayview.example>",
        subject: format!("See you on 2026-12-{day:02}, Lucas"),
        html: format!(
            "<html><body style=\"font-family: Georgia, serif\"><h1>Your visit is booked</h1>\
             <p>Hi Lucas,</p><p>Your Initial Naturopathic Consultation with Dr. Maya Chen is on \
             2026-12-{day:02} at 10:30.</p><p>Please arrive ten minutes early and bring your \
             intake form.</p><p>To reschedule, reply to this email.</p></body></html>"
        ),
    })
    .unwrap()
}

#[test]
fn a_dictionary_learned_from_a_full_batch_helps_every_kind_of_record_in_it() {
    let samples = kinds_in_blocks(super::SAMPLES);
    let dict = super::dictionary_of(&samples).unwrap();
    let own = zstd_safe::create_cdict(&dict, super::LEVEL);
    let n = 5_000;
    let mut sizes = Vec::new();
    for (kind, json) in [
        ("run", serde_json::to_vec(&booking(n)).unwrap()),
        ("contact", contact_json(n)),
        ("email", email_json(n)),
    ] {
        let builtin = crate::store::codec::compress(json.clone()).len();
        let mut out = vec![0u8; zstd_safe::compress_bound(json.len())];
        let learned = zstd_safe::create_cctx()
            .compress_using_cdict(&mut out, &json, &own)
            .unwrap();
        sizes.push((kind, learned, builtin));
    }
    // (kind, bytes with the learned dictionary, with the built-in one)
    assert!(
        sizes
            .iter()
            .all(|&(_, learned, builtin)| learned * 2 < builtin),
        "{sizes:?}"
    );
}
