//! The template renderer: types, text, names, conditions, escaping, the cache and threads (where
//! errors point: `errors`).

use super::*;
use proptest::prelude::*;
use serde_json::json;

mod errors;

fn ctx() -> Context {
    Context::new(
        json!({"event": "participant.added", "id": 7, "email": "ann@example.com",
               "address": {"city": "Lyon", "zip": "69001"}, "note": null}),
        json!({"headers": {"x-src": "opti"}, "query": {"src": "GHL"}, "received_at": "2026-01-01T00:00:00Z"}),
        json!({"id": "booking", "name": "Booking"}),
        "2026-01-01T00:00:00.000Z",
    )
    .with("contact", json!({"first_name": "Ann", "tags": ["VIP", "Booked"]}))
    .with("email", json!("ann@example.com"))
    .with("first_name", json!("Ann"))
    .with("visits", json!(3))
    .with("missing", Value::Null)
}

fn tpl(source: &str) -> Arg {
    Arg::Template {
        source: source.into(),
        pos: Pos {
            line: 12,
            column: 10,
        },
    }
}

fn render(source: &str) -> Result<Value, TemplateError> {
    Renderer::new().render_arg(&tpl(source), &ctx())
}

fn cond(source: &str, ctx: &Context) -> Result<bool, TemplateError> {
    let expr = Expr {
        source: source.into(),
        pos: Pos {
            line: 3,
            column: 16,
        },
    };
    Renderer::new().eval_condition(&expr, ctx)
}

#[test]
fn a_single_expression_keeps_its_type() {
    assert_eq!(render("{{ missing }}").unwrap(), Value::Null);
    assert_eq!(render("{{ visits }}").unwrap(), json!(3));
    assert_eq!(render("{{ visits * 1.5 }}").unwrap(), json!(4.5));
    assert_eq!(render("{{ visits > 2 }}").unwrap(), json!(true));
    assert_eq!(
        render("  {{ trigger.address }}\n").unwrap(),
        json!({"city": "Lyon", "zip": "69001"})
    );
    assert_eq!(render("{{ first_name }}").unwrap(), json!("Ann"));
    assert_eq!(
        render("{{- email | upper -}}").unwrap(),
        json!("ANN@EXAMPLE.COM")
    );
    assert_eq!(render("{{ [visits, none] }}").unwrap(), json!([3, null]));
    assert_eq!(render("{{ inboundWebhookRequest.id }}").unwrap(), json!(7));
}

#[test]
fn text_around_an_expression_makes_a_string_where_null_is_empty() {
    assert_eq!(render("Hi {{ first_name }}!").unwrap(), json!("Hi Ann!"));
    assert_eq!(render("[{{ missing }}]").unwrap(), json!("[]"));
    assert_eq!(
        render("{{ trigger.note }}{{ visits }}").unwrap(),
        json!("3")
    );
    assert_eq!(
        render("{{ trigger.id }}:{{ trigger.event }}").unwrap(),
        json!("7:participant.added")
    );
    assert_eq!(
        render("{% if visits > 2 %}regular{% endif %}").unwrap(),
        json!("regular")
    );
}

#[test]
fn an_undefined_name_is_an_error_that_lists_the_known_names() {
    let err = render("Hello {{ emial }}").unwrap_err();
    assert!(
        err.message
            .contains("undefined name `emial` in `{{ emial }}`"),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("known names: contact, email, first_name"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("(line 12, column 19)"),
        "{}",
        err.message
    );
    assert_eq!(
        err.pos,
        Pos {
            line: 12,
            column: 19
        }
    );

    let err = render("{{ emial }}").unwrap_err();
    assert!(
        err.message
            .contains("undefined name `emial` in `{{ emial }}`"),
        "{}",
        err.message
    );
    assert_eq!(
        err.pos,
        Pos {
            line: 12,
            column: 13
        }
    );
}

#[test]
fn an_undefined_attribute_is_an_error_that_lists_the_keys() {
    for source in ["{{ trigger.emial }}", "Mail: {{ trigger.emial }}"] {
        let err = render(source).unwrap_err();
        assert!(
            err.message.contains("undefined `trigger.emial`"),
            "{}",
            err.message
        );
        assert!(
            err.message
                .contains("its keys: event, id, email, address, note"),
            "{}",
            err.message
        );
    }
    let err = render("{{ trigger.address.street }}").unwrap_err();
    assert!(
        err.message
            .contains("`trigger.address` has no key `street`"),
        "{}",
        err.message
    );
}

#[test]
fn an_attribute_of_a_null_contact_is_an_error_not_an_empty_string() {
    let no_contact = ctx().with("contact", Value::Null);
    for source in ["{{ contact.first_name }}", "Hi {{ contact.first_name }}"] {
        let err = Renderer::new()
            .render_arg(&tpl(source), &no_contact)
            .unwrap_err();
        assert!(err.message.contains("`contact` is null"), "{}", err.message);
    }
    // The ways out the message suggests do work.
    let r = Renderer::new();
    let fallback = tpl("Hi {{ contact.first_name | default('there') }}");
    assert_eq!(
        r.render_arg(&fallback, &no_contact).unwrap(),
        json!("Hi there")
    );
    let guarded = tpl("{% if contact %}{{ contact.first_name }}{% endif %}");
    assert_eq!(r.render_arg(&guarded, &no_contact).unwrap(), json!(""));
}

#[test]
fn is_defined_still_works_in_strict_mode() {
    assert_eq!(render("{{ emial is defined }}").unwrap(), json!(false));
    assert_eq!(
        render("{{ trigger.emial is defined }}").unwrap(),
        json!(false)
    );
    assert_eq!(
        render("{% if trigger.email is defined %}yes{% endif %}").unwrap(),
        json!("yes")
    );
}

#[test]
fn a_literal_is_walked_and_its_strings_rendered() {
    let arg = Arg::Literal {
        value: json!({"n": 1, "flag": true, "list": ["{{ visits }}", "x{{ missing }}y", "plain"],
                      "nested": {"who": "{{ contact.first_name }}", "null": null}}),
        pos: Pos { line: 4, column: 3 },
    };
    let out = Renderer::new().render_arg(&arg, &ctx()).unwrap();
    assert_eq!(
        out,
        json!({"n": 1, "flag": true, "list": [3, "xy", "plain"], "nested": {"who": "Ann", "null": null}})
    );
    let bad = Arg::Literal {
        value: json!(["{{ nope }}"]),
        pos: Pos { line: 4, column: 3 },
    };
    let err = Renderer::new().render_arg(&bad, &ctx()).unwrap_err();
    assert!(
        err.message.contains("undefined name `nope`"),
        "{}",
        err.message
    );
}

#[test]
fn has_tag_ignores_case_and_is_false_without_a_contact() {
    assert_eq!(render("{{ has_tag('vip') }}").unwrap(), json!(true));
    assert_eq!(render("{{ has_tag('BOOKED') }}").unwrap(), json!(true));
    assert_eq!(render("{{ has_tag('lead') }}").unwrap(), json!(false));
    let r = Renderer::new();
    let nobody = ctx().with("contact", Value::Null);
    assert_eq!(
        r.render_arg(&tpl("{{ has_tag('vip') }}"), &nobody).unwrap(),
        json!(false)
    );
    let untagged = ctx().with("contact", json!({"first_name": "Bo"}));
    assert_eq!(
        r.render_arg(&tpl("{{ has_tag('vip') }}"), &untagged)
            .unwrap(),
        json!(false)
    );
}

#[test]
fn conditions_take_truthiness() {
    let c = ctx();
    assert!(cond("trigger.event == 'participant.added'", &c).unwrap());
    assert!(!cond("trigger.event == 'participant.removed'", &c).unwrap());
    assert!(cond("has_tag('vip')", &c).unwrap());
    assert!(!cond("not contact", &c).unwrap());
    assert!(cond("not contact", &c.clone().with("contact", Value::Null)).unwrap());
    assert!(cond(
        "visits >= 3 and 'booked' in contact.tags | map('lower')",
        &c
    )
    .unwrap());
}

#[test]
fn a_condition_on_an_undefined_name_is_an_error() {
    let err = cond("trigger.event == 'participant.added' and not vip", &ctx()).unwrap_err();
    assert!(
        err.message.contains("undefined name `vip`"),
        "{}",
        err.message
    );
    // Like Jinja, `and` stops early: the name is never read, so run time cannot see it
    // (`check_condition` does, at load).
    assert!(!cond("trigger.event == 'x' and not vip", &ctx()).unwrap());
    let err = cond("emial", &ctx()).unwrap_err();
    assert!(
        err.message.contains("undefined name `emial`"),
        "{}",
        err.message
    );
    assert_eq!(
        err.pos,
        Pos {
            line: 3,
            column: 16
        }
    );
}

#[test]
fn has_tag_in_a_filter_without_contact_says_why_it_fails() {
    let mut vars = ctx().vars().clone();
    vars.remove("contact");
    let filter_ctx = Context::from(vars);
    let err = cond("has_tag('vip')", &filter_ctx).unwrap_err();
    assert!(
        err.message.contains("has_tag() needs `contact`"),
        "{}",
        err.message
    );
}

#[test]
fn html_is_escaped_in_html_mode_only() {
    let c = ctx().with("first_name", json!("<b>Ann & co</b>"));
    let r = Renderer::new();
    let html = r
        .render_text("<p>Hi {{ first_name }}{{ missing }}</p>", &c, true)
        .unwrap();
    assert_eq!(html, "<p>Hi &lt;b&gt;Ann &amp; co&lt;&#x2f;b&gt;</p>");
    let text = r.render_text("Hi {{ first_name }}", &c, false).unwrap();
    assert_eq!(text, "Hi <b>Ann & co</b>");
    // Arguments are never HTML: the same source in both modes does not share a cached template.
    assert_eq!(
        r.render_arg(&tpl("Hi {{ first_name }}"), &c).unwrap(),
        json!("Hi <b>Ann & co</b>")
    );
    assert!(r
        .render_text("Hi {{ first_name }}", &c, true)
        .unwrap()
        .contains("&lt;b&gt;"));
}

#[test]
fn text_keeps_its_final_newline() {
    let r = Renderer::new();
    assert_eq!(
        r.render_text("Hi {{ first_name }}\n", &ctx(), false)
            .unwrap(),
        "Hi Ann\n"
    );
}

#[test]
fn compiled_templates_are_reused_and_the_renderer_is_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Renderer>();
    let r = std::sync::Arc::new(Renderer::new());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let r = r.clone();
            std::thread::spawn(move || {
                let c = ctx().with("visits", json!(i));
                r.render_arg(&tpl("n={{ visits }}"), &c).unwrap()
            })
        })
        .collect();
    let outs: Vec<Value> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        outs,
        [json!("n=0"), json!("n=1"), json!("n=2"), json!("n=3")]
    );
    assert_eq!(r.templates.compiled_count(), 1);
}

proptest! {
    #[test]
    fn text_without_braces_is_returned_unchanged(s in "[^{}]*") {
        let r = Renderer::new();
        prop_assert_eq!(r.render_arg(&tpl(&s), &ctx()).unwrap(), Value::String(s.clone()));
        prop_assert_eq!(r.render_text(&s, &ctx(), true).unwrap(), s);
    }

    #[test]
    fn any_string_value_round_trips_through_a_single_expression(s in ".*") {
        let c = ctx().with("v", Value::String(s.clone()));
        prop_assert_eq!(Renderer::new().render_arg(&tpl("{{ v }}"), &c).unwrap(), Value::String(s));
    }
}

/// A failing render describes its error while other threads compile new templates. The error
/// path once locked the template cache a second time and deadlocked against the waiting writer
/// (seen as a 30 s stall of a webhook while the worker rendered a step).
#[test]
fn error_reports_and_compiles_on_other_threads_never_deadlock() {
    let renderer = std::sync::Arc::new(Renderer::new());
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let failing = renderer.clone();
    let tx1 = done_tx.clone();
    std::thread::spawn(move || {
        let ctx = ctx();
        for _ in 0..3000 {
            assert!(failing
                .render_arg(&tpl("{{ missing_name }}"), &ctx)
                .is_err());
        }
        tx1.send(()).unwrap();
    });
    let compiling = renderer.clone();
    std::thread::spawn(move || {
        let ctx = ctx();
        for n in 0..3000 {
            let _ = compiling.render_arg(&tpl(&format!("{{{{ {n} + 1 }}}}")), &ctx);
        }
        done_tx.send(()).unwrap();
    });
    for _ in 0..2 {
        done_rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("a render and a compile deadlocked on the template cache");
    }
}

#[test]
fn a_name_set_after_a_render_is_what_the_next_render_sees() {
    let renderer = Renderer::new();
    let mut ctx = ctx();
    let first = renderer.render_arg(&tpl("{{ contact.first_name }}"), &ctx);
    assert_eq!(first.unwrap(), json!("Ann"));
    // find_contact sets `contact` for the steps after it; the context made for the first render
    // must not be reused.
    ctx.set("contact", json!({"first_name": "Bea"}));
    let second = renderer.render_arg(&tpl("{{ contact.first_name }}"), &ctx);
    assert_eq!(second.unwrap(), json!("Bea"));
    let cloned = ctx.clone().with("contact", json!({"first_name": "Cy"}));
    let third = renderer.render_text("{{ contact.first_name }}", &cloned, false);
    assert_eq!(third.unwrap(), "Cy");
}

#[test]
fn an_argument_without_template_syntax_is_plain_and_renders_as_written_in_any_context() {
    let lit = |value: Value| Arg::Literal {
        value,
        pos: Pos::default(),
    };
    let r = Renderer::new();
    for arg in [
        tpl("Booked"),
        tpl("50% off } {"),
        lit(json!(["VIP", 3, null, {"k": "v"}])),
        lit(json!(true)),
    ] {
        let never = || -> &'static Context { panic!("a plain argument asked for a context") };
        let plain = r.render_arg_with(&arg, never).unwrap();
        assert_eq!(plain, r.render_arg(&arg, &ctx()).unwrap());
        assert_eq!(plain, r.render_arg(&arg, &Context::default()).unwrap());
    }
    for arg in [
        tpl("{{ email }}"),
        tpl("a {# note #}"),
        tpl("{% if true %}x{% endif %}"),
        lit(json!(["VIP", {"k": "{{ first_name }}"}])),
    ] {
        let (asked, full) = (std::cell::Cell::new(false), ctx());
        let _ = r.render_arg_with(&arg, || {
            asked.set(true);
            &full
        });
        assert!(asked.get(), "{arg:?} needs its context");
    }
}
