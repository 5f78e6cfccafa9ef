//! When a `wait` is over: `now + duration`, or the next `HH:MM` in a timezone.
//!
//! IANA zones come from jiff's bundled tz database, so a machine without `/usr/share/zoneinfo`
//! computes the same times; a DST gap moves the time forward (jiff's "compatible" rule).

use crate::domain::time::Millis;
use crate::workflow::Wait;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The due time of `wait` started at `now`. `zone` is the contact's timezone, `fallback` the
/// configured one; an unknown contact zone falls back (the note says so).
pub fn due_at(
    wait: &Wait,
    now: Millis,
    zone: Option<&str>,
    fallback: &str,
) -> Result<(Millis, Option<String>), String> {
    match wait {
        Wait::For(d) => Ok((now.saturating_add(d.as_millis() as i64), None)),
        Wait::Until { hour, minute } => {
            let mut note = None;
            let tz = match zone.map(|z| (z, TimeZone::get(z))) {
                Some((_, Ok(tz))) => tz,
                Some((z, Err(_))) => {
                    note = Some(format!(
                        "contact timezone {z:?} is unknown; used {fallback}"
                    ));
                    zone_named(fallback)?
                }
                None => zone_named(fallback)?,
            };
            Ok((next_time_of_day(now, *hour, *minute, &tz)?, note))
        }
    }
}

/// The zone called `name` (IANA name or `UTC`).
pub fn zone_named(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| format!("timezone {name:?} is unknown: {e}"))
}

/// The first instant strictly after `now` whose local time in `tz` is `hour:minute`.
pub fn next_time_of_day(
    now: Millis,
    hour: u8,
    minute: u8,
    tz: &TimeZone,
) -> Result<Millis, String> {
    let ts = Timestamp::from_millisecond(now).map_err(|e| e.to_string())?;
    let local = ts.to_zoned(tz.clone());
    let at = Time::new(hour as i8, minute as i8, 0, 0).map_err(|e| e.to_string())?;
    let mut day = local.date();
    for _ in 0..3 {
        let candidate = day
            .to_datetime(at)
            .to_zoned(tz.clone())
            .map_err(|e| e.to_string())?;
        let ms = candidate.timestamp().as_millisecond();
        if ms > now {
            return Ok(ms);
        }
        day = day.tomorrow().map_err(|e| e.to_string())?;
    }
    Err("no such time of day in the next days".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::rfc3339;
    use std::time::Duration;

    fn until(h: u8, m: u8) -> Wait {
        Wait::Until { hour: h, minute: m }
    }

    fn at(s: &str) -> Millis {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn durations_add_to_now() {
        let w = Wait::For(Duration::from_secs(5400));
        assert_eq!(due_at(&w, 1_000, None, "UTC").unwrap().0, 1_000 + 5_400_000);
    }

    #[test]
    fn until_is_later_today_or_tomorrow_in_the_contacts_zone() {
        let now = at("2026-03-02T12:00:00Z"); // 07:00 in Toronto (EST, UTC-5)
        let (due, note) = due_at(&until(9, 0), now, Some("America/Toronto"), "UTC").unwrap();
        assert_eq!(rfc3339(due), "2026-03-02T14:00:00Z");
        assert!(note.is_none());
        // Already past 09:00 in UTC: tomorrow.
        let (due, _) = due_at(&until(9, 0), now, None, "UTC").unwrap();
        assert_eq!(rfc3339(due), "2026-03-03T09:00:00Z");
        // Exactly 09:00 now: the next one, not now.
        let (due, _) = due_at(&until(9, 0), at("2026-03-03T09:00:00Z"), None, "UTC").unwrap();
        assert_eq!(rfc3339(due), "2026-03-04T09:00:00Z");
    }

    #[test]
    fn until_uses_the_configured_zone_when_the_contact_has_none_or_a_bad_one() {
        let now = at("2026-07-01T00:00:00Z");
        let (due, _) = due_at(&until(9, 30), now, None, "Europe/Paris").unwrap();
        assert_eq!(rfc3339(due), "2026-07-01T07:30:00Z", "CEST is UTC+2");
        let (due, note) = due_at(&until(9, 30), now, Some("Mars/Olympus"), "Europe/Paris").unwrap();
        assert_eq!(rfc3339(due), "2026-07-01T07:30:00Z");
        assert!(note.unwrap().contains("Mars/Olympus"));
    }

    #[test]
    fn until_across_a_dst_change_keeps_the_local_time() {
        // DST starts in Toronto on 2026-03-08: 09:00 is then UTC-4.
        let now = at("2026-03-07T20:00:00Z");
        let (due, _) = due_at(&until(9, 0), now, Some("America/Toronto"), "UTC").unwrap();
        assert_eq!(rfc3339(due), "2026-03-08T13:00:00Z");
    }
}
