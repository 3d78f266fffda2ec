//! A small OpenAPI 3.0 response validator for the subset Okta's schemas use (`$ref`, `allOf`,
//! `anyOf`/`oneOf`, `type`, `nullable`, `enum`, `required`, `properties`, `items`,
//! `additionalProperties`, `format: date-time`), shared by the conformance tests. A general JSON-Schema
//! crate would need OpenAPI 3.0's `nullable` and component `$ref`s rewritten first, and these errors
//! name the JSON path.

use std::path::PathBuf;

use serde_json::{Value, json};

/// `shared/specs/` beside the repository, checked to hold `files`.
pub fn specs_dir(files: &[&str]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs");
    let missing: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !dir.join(f).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the vendor specs are missing: expected {} in {}. Check out the shared/ folder beside the repository.",
        missing.join(", "),
        dir.display()
    );
    dir
}

pub struct OpenApi {
    pub doc: Value,
}

impl OpenApi {
    pub fn load(file: &str) -> OpenApi {
        let text = std::fs::read_to_string(specs_dir(&[file]).join(file)).unwrap();
        let mut doc: Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} parses as YAML: {e}"));
        // Some examples hold $refs that do not resolve; they play no part in validation.
        if let Some(c) = doc.get_mut("components").and_then(Value::as_object_mut) {
            c.remove("examples");
        }
        OpenApi { doc }
    }

    pub fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        let mut v = v;
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            v = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved $ref {r}"));
        }
        v
    }

    /// The JSON schema of `status` for the operation, or a failure if the status is not declared.
    pub fn response_schema(
        &self,
        path: &str,
        method: &str,
        status: u16,
    ) -> Result<Option<&Value>, String> {
        let op = self
            .doc
            .pointer(&format!(
                "/paths/{}/{method}",
                path.replace('~', "~0").replace('/', "~1")
            ))
            .unwrap_or_else(|| panic!("the spec has no {method} {path}"));
        let responses = &op["responses"];
        let Some(resp) = responses.get(status.to_string()) else {
            let declared: Vec<&String> = responses.as_object().unwrap().keys().collect();
            return Err(format!(
                "{method} {path} answered {status}, which the spec does not declare ({declared:?})"
            ));
        };
        Ok(self
            .resolve(resp)
            .pointer("/content/application~1json/schema"))
    }

    pub fn validate(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if v.is_null() {
            if schema.get("nullable") != Some(&json!(true)) && schema.get("type").is_some() {
                errors.push(format!("{at}: null but the schema is not nullable"));
            }
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.validate(s, v, at, errors);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = schema.get(key).and_then(Value::as_array) {
                let ok = alts.iter().any(|s| {
                    let mut e = Vec::new();
                    self.validate(s, v, at, &mut e);
                    e.is_empty()
                });
                if !ok {
                    errors.push(format!("{at}: matches none of the {key} alternatives"));
                }
            }
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{at}: expected {t}, got {v}"));
                return;
            }
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array)
            && !values.contains(v)
        {
            errors.push(format!("{at}: {v} is not one of {values:?}"));
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && let Some(s) = v.as_str()
            && s.parse::<jiff::Timestamp>().is_err()
        {
            errors.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
        }
        if let Some(obj) = v.as_object() {
            if let Some(req) = schema.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errors.push(format!("{at}: required property {r} is missing"));
                    }
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.validate(s, val, &format!("{at}.{k}"), errors),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors.push(format!("{at}: property {k} is not allowed"))
                        }
                        Some(s @ Value::Object(_)) => {
                            self.validate(s, val, &format!("{at}.{k}"), errors)
                        }
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.validate(items, item, &format!("{at}[{i}]"), errors);
            }
        }
    }

    /// Checks one real response against `method path` of the spec.
    pub async fn check(
        &self,
        path: &str,
        method: &str,
        resp: reqwest::Response,
        checked: &mut Vec<String>,
    ) {
        let status = resp.status().as_u16();
        let body: Value = if status == 204 {
            Value::Null
        } else {
            resp.json().await.unwrap()
        };
        let schema = self
            .response_schema(path, method, status)
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(schema) = schema {
            let mut errors = Vec::new();
            self.validate(schema, &body, "$", &mut errors);
            assert!(
                errors.is_empty(),
                "{method} {path} {status} does not match the spec:\n{}",
                errors.join("\n")
            );
        } else {
            assert!(
                body.is_null(),
                "{method} {path} {status} declares no body but got {body}"
            );
        }
        checked.push(format!("{method} {path} {status}"));
    }
}
