//! Where a template error points: syntax errors, later lines, names inside loops, values with no
//! JSON form, and the load-time check of every name a workflow uses.

use super::*;

#[test]
fn a_syntax_error_says_where() {
    let err = render("Hi {{ first_name ").unwrap_err();
    assert!(
        err.message.starts_with("template syntax error"),
        "{}",
        err.message
    );
    assert!(err.message.contains("line 12"), "{}", err.message);
    let err = cond("trigger.event ==", &ctx()).unwrap_err();
    assert!(err.message.contains("syntax error"), "{}", err.message);
    assert!(
        err.message.contains("unexpected end of input"),
        "{}",
        err.message
    );
    assert!(
        !err.message.contains("`)`"),
        "the wrapper leaked: {}",
        err.message
    );
}

#[test]
fn errors_in_later_lines_point_at_that_line() {
    let err = render("Hello\n  {{ first_name }}\n  {{ emial }}").unwrap_err();
    assert_eq!(
        err.pos,
        Pos {
            line: 14,
            column: 6
        }
    );
    let err = Renderer::new()
        .render_text("a\nb {{ emial }}", &ctx(), false)
        .unwrap_err();
    assert_eq!(err.pos, Pos { line: 2, column: 6 });
}
#[test]
fn an_undefined_name_in_a_loop_points_at_the_name() {
    let err = render("{% for t in nothing %}{{ t }}{% endfor %}").unwrap_err();
    assert!(
        err.message.contains("undefined name `nothing`"),
        "{}",
        err.message
    );
    assert_eq!(
        err.pos,
        Pos {
            line: 12,
            column: 22
        }
    );
}

#[test]
fn a_value_with_no_json_form_is_an_error() {
    let err = render("{{ range }}").unwrap_err();
    assert!(
        err.message.contains("`{{ range }}` gives a"),
        "{}",
        err.message
    );
    assert!(err.message.contains("no JSON form"), "{}", err.message);
}
#[test]
fn load_time_checks_find_unknown_names_on_any_path() {
    let r = Renderer::new();
    let known = ["trigger", "contact", "email"];
    let cond = |s: &str| Expr {
        source: s.into(),
        pos: Pos { line: 2, column: 5 },
    };
    r.check_condition(&cond("trigger.event == 'a' and has_tag('vip')"), &known)
        .unwrap();
    let err = r
        .check_condition(&cond("trigger.event == 'x' and not vip"), &known)
        .unwrap_err();
    assert!(
        err.message.contains("undefined name `vip`"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("known names: contact, email, trigger"),
        "{}",
        err.message
    );

    r.check_arg(
        &tpl("{% for t in contact.tags %}{{ t }}{% endfor %} {{ email }}"),
        &known,
    )
    .unwrap();
    r.check_arg(&tpl("no tags here"), &known).unwrap();
    let lit = Arg::Literal {
        value: json!({"a": ["{{ email }}", "{{ emial }}"]}),
        pos: Pos::default(),
    };
    let err = r.check_arg(&lit, &known).unwrap_err();
    assert!(
        err.message.contains("undefined name `emial`"),
        "{}",
        err.message
    );
    let err = r.check_arg(&tpl("{{ email "), &known).unwrap_err();
    assert!(err.message.contains("syntax error"), "{}", err.message);

    let err = r
        .check_text(
            "<p>{{ contact.first_name }}</p>\n{{ frist }}",
            Pos::default(),
            &known,
        )
        .unwrap_err();
    assert_eq!(err.pos, Pos { line: 2, column: 4 });
}
