//! Graph's CSDL metadata (`shared/specs/graph-v1.0-metadata.xml`) as a checker: every property a
//! sandbox answer holds must exist on the entity (or a base type), with a compatible type.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::openapi::specs_dir;

/// A structured type: its base type and its properties (name → (type, nullable)).
type StructuredType = (Option<String>, HashMap<String, (String, bool)>);

#[derive(Debug, Default)]
pub struct Csdl {
    types: HashMap<String, StructuredType>,
    enums: HashSet<String>,
}

impl Csdl {
    pub fn load() -> Csdl {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_file(
            specs_dir(&["graph-v1.0-metadata.xml"]).join("graph-v1.0-metadata.xml"),
        )
        .unwrap();
        let mut buf = Vec::new();
        let mut csdl = Csdl::default();
        let mut current: Option<String> = None;
        let mut in_main_schema = false;
        loop {
            let event = reader
                .read_event_into(&mut buf)
                .expect("the Graph metadata is well-formed XML");
            let (start, empty) = match &event {
                Event::Start(e) => (Some(e.clone()), false),
                Event::Empty(e) => (Some(e.clone()), true),
                Event::End(e) => {
                    let name = e.local_name();
                    if name.as_ref() == b"EntityType" || name.as_ref() == b"ComplexType" {
                        current = None;
                    }
                    if name.as_ref() == b"Schema" {
                        in_main_schema = false;
                    }
                    (None, false)
                }
                Event::Eof => break,
                _ => (None, false),
            };
            if let Some(e) = start {
                let attr = |n: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == n.as_bytes())
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                match e.local_name().as_ref() {
                    b"Schema" => {
                        in_main_schema = attr("Namespace").as_deref() == Some("microsoft.graph")
                    }
                    b"EntityType" | b"ComplexType" if in_main_schema => {
                        let name = attr("Name").unwrap();
                        let base =
                            attr("BaseType").map(|b| b.trim_start_matches("graph.").to_owned());
                        csdl.types.insert(name.clone(), (base, HashMap::new()));
                        if !empty {
                            current = Some(name);
                        }
                    }
                    b"EnumType" if in_main_schema => {
                        csdl.enums.insert(attr("Name").unwrap());
                    }
                    b"Property" => {
                        if let Some(t) = &current {
                            let nullable = attr("Nullable").as_deref() != Some("false");
                            csdl.types
                                .get_mut(t)
                                .unwrap()
                                .1
                                .insert(attr("Name").unwrap(), (attr("Type").unwrap(), nullable));
                        }
                    }
                    _ => {}
                }
            }
            buf.clear();
        }
        csdl
    }

    pub fn property(&self, type_name: &str, prop: &str) -> Option<&(String, bool)> {
        let mut t = Some(type_name.to_owned());
        while let Some(name) = t {
            let (base, props) = self.types.get(&name)?;
            if let Some(p) = props.get(prop) {
                return Some(p);
            }
            t = base.clone();
        }
        None
    }

    pub fn check(&self, type_name: &str, v: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(obj) = v.as_object() else {
            errors.push(format!("{at}: a {type_name} must be an object"));
            return;
        };
        for (k, val) in obj {
            if k.starts_with("@odata.") {
                continue;
            }
            match self.property(type_name, k) {
                None => errors.push(format!(
                    "{at}.{k}: microsoft.graph.{type_name} has no property {k}"
                )),
                Some((t, nullable)) => {
                    self.check_value(t, *nullable, val, &format!("{at}.{k}"), errors)
                }
            }
        }
    }

    fn check_value(&self, t: &str, nullable: bool, v: &Value, at: &str, errors: &mut Vec<String>) {
        if v.is_null() {
            if !nullable {
                errors.push(format!("{at}: null but {t} is declared Nullable=\"false\""));
            }
            return;
        }
        if let Some(inner) = t
            .strip_prefix("Collection(")
            .and_then(|s| s.strip_suffix(')'))
        {
            match v.as_array() {
                Some(items) => items.iter().enumerate().for_each(|(i, item)| {
                    self.check_value(inner, false, item, &format!("{at}[{i}]"), errors)
                }),
                None => errors.push(format!("{at}: {t} must be an array")),
            }
            return;
        }
        let ok = match t {
            "Edm.String" => v.is_string(),
            "Edm.Boolean" => v.is_boolean(),
            "Edm.Int32" | "Edm.Int64" => v.is_i64() || v.is_u64(),
            "Edm.Double" | "Edm.Single" | "Edm.Decimal" => v.is_number(),
            "Edm.Guid" => v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
            // OData JSON writes binary as base64 (Graph uses the standard alphabet).
            "Edm.Binary" => v.as_str().is_some_and(|s| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(s).is_ok()
                    || base64::engine::general_purpose::URL_SAFE.decode(s).is_ok()
            }),
            "Edm.DateTimeOffset" => v
                .as_str()
                .is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok()),
            other => {
                let name = other.trim_start_matches("graph.");
                if self.enums.contains(name) {
                    v.is_string()
                } else if self.types.contains_key(name) {
                    self.check(name, v, at, errors);
                    true
                } else {
                    errors.push(format!("{at}: unknown type {other}"));
                    true
                }
            }
        };
        if !ok {
            errors.push(format!("{at}: {v} is not a valid {t}"));
        }
    }
}
