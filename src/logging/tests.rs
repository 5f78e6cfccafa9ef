use super::*;

fn line(i: usize) -> Vec<u8> {
    format!("line {i:05} {}\n", "x".repeat(90)).into_bytes()
}

#[test]
fn a_full_buffer_drops_lines_counts_them_and_says_so_before_the_next_line_that_fits() {
    let buffer = Buffer::default();
    let fits = BUFFER_BYTES / line(0).len();
    for i in 0..fits + 7 {
        buffer.push(&line(i));
    }
    assert_eq!(buffer.dropped_total.load(Ordering::Relaxed), 7);
    let written = std::mem::take(&mut buffer.lock().bytes);
    assert_eq!(written.len(), fits * line(0).len());
    assert!(written.ends_with(&line(fits - 1)));

    buffer.push(&line(99_999));
    let next = String::from_utf8(std::mem::take(&mut buffer.lock().bytes)).unwrap();
    assert_eq!(
        next,
        format!(
            "{}{}",
            dropped_notice(7),
            String::from_utf8(line(99_999)).unwrap()
        )
    );
    assert!(next.starts_with("hookflow: 7 log lines dropped here"));
    assert_eq!(buffer.dropped_total.load(Ordering::Relaxed), 7);
}

/// stderr as the writer thread sees it: shared so the test can read what was written.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_writer_wakes_for_lines_after_it_parked_writes_them_in_order_and_drains_at_stop() {
    let buffer = Arc::new(Buffer::default());
    let sink = Sink::default();
    let thread = {
        let (buffer, mut sink) = (buffer.clone(), sink.clone());
        std::thread::spawn(move || write_forever(&buffer, &mut sink))
    };
    let mut expected = Vec::new();
    for burst in 0..20 {
        for i in 0..50 {
            let l = line(burst * 50 + i);
            buffer.push(&l);
            expected.extend_from_slice(&l);
        }
        // Long enough for the writer to write the burst and park again.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            sink.0.lock().unwrap().len(),
            expected.len(),
            "burst {burst}"
        );
    }
    for i in 0..300 {
        let l = line(10_000 + i);
        buffer.push(&l);
        expected.extend_from_slice(&l);
    }
    buffer.stop.store(true, Ordering::SeqCst);
    thread.thread().unpark();
    thread.join().unwrap();
    assert!(*sink.0.lock().unwrap() == expected);
    assert_eq!(buffer.dropped_total.load(Ordering::Relaxed), 0);
}
