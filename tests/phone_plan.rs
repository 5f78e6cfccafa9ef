//! `serve` loads the phone numbering plan on its own thread as it starts (before the store
//! opens), so the first request or run that reads a phone does not decode it. A test binary
//! of its own: the plan is loaded once per process, so no other test may have touched it.

use hookflow::domain::contact::Phone;
use once_cell::sync::Lazy;
use phonenumber::metadata::DATABASE;

#[test]
fn the_numbering_plan_loads_on_a_thread_of_its_own() {
    assert!(
        Lazy::get(&DATABASE).is_none(),
        "nothing in this process has read a phone yet"
    );
    let thread = Phone::load_numbering_plan("GB").expect("start the thread");
    assert_eq!(thread.thread().name(), Some("phone-plan"));
    thread.join().expect("the thread finishes");
    let plan = Lazy::get(&DATABASE).expect("the plan is loaded once the thread is done");
    assert!(
        plan.by_id("GB").is_some(),
        "the plan holds the default region"
    );
    // And a phone parses against it as before.
    assert_eq!(
        Phone::parse("020 7946 0018", "GB").unwrap().as_str(),
        "+442079460018"
    );
    // An unknown --default-region is reported where a phone is read; the loader must not panic.
    Phone::load_numbering_plan("ZZ-not-a-region")
        .expect("start the thread")
        .join()
        .expect("the thread finishes on an unknown region");
}
