//! End-to-end harness for the okta365 desktop app.
//!
//! The tests in `tests/` drive the real app binary (a debug build with the front end embedded) through
//! `tauri-driver`, which starts `WebKitWebDriver`, which starts the app. Everything runs on the X display
//! in `DISPLAY` (Xvfb in `./scripts/test`).
//!
//! Each launch of the app gets its own `tauri-driver` on free loopback ports. The reason is the data dir:
//! tauri-driver's `tauri:options` carry only `application` and `args`, not an environment, and the app
//! inherits the environment of the `WebKitWebDriver` that tauri-driver starts. So the harness starts
//! tauri-driver with `OKTA365_DATA_DIR` set to the test's own temp dir, and every test is isolated from
//! the others and from the user's real data.
//!
//! Environment:
//! - `OKTA365_APP_BIN`: the app binary (default: `target/debug/okta365-app` of this workspace).
//! - `OKTA365_E2E_ARTIFACTS`: where screenshots go (default: `artifacts/e2e/latest` of this workspace);
//!   each test writes `{artifacts}/{test}/{nn}-{step}.png` plus the page source as `.html`, and the
//!   driver's and app's output as `launch-{n}.log`.
//! - `TAURI_DRIVER`: the tauri-driver binary (default: `tauri-driver` on `PATH`, then `~/.cargo/bin`).
//!
//! A missing binary, driver or display fails the test with a message that says how to fix it; nothing
//! is ever skipped.

use std::fs;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

/// How long to wait for the first screen (`app-ready`) after a launch: the first launch of a data dir
/// creates its store and starts its sandbox tenant.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for an element after an action.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the app may take to exit after its WebDriver session is deleted.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// CSS selector for a `data-testid`.
pub fn tid(test_id: &str) -> String {
    format!("[data-testid=\"{test_id}\"]")
}

/// The workspace root, from this crate's manifest dir (`tests/e2e`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/e2e sits two levels below the workspace root")
        .to_path_buf()
}

/// What every test needs: the app binary, the driver and the artifacts root, checked up front.
#[derive(Debug, Clone)]
pub struct Harness {
    app_bin: PathBuf,
    driver_bin: PathBuf,
    artifacts: PathBuf,
}

impl Harness {
    /// Reads and checks the environment (see the crate docs). Fails with a message saying what is
    /// missing and how to get it.
    pub fn from_env() -> Result<Harness> {
        let root = workspace_root();
        let app_bin = match std::env::var_os("OKTA365_APP_BIN") {
            Some(p) => PathBuf::from(p),
            None => root.join("target/debug/okta365-app"),
        };
        if !app_bin.is_file() {
            bail!(
                "The app binary {} does not exist. Build it with the front end embedded \
                 (`npm --prefix ui run build && cargo build -p okta365-app`) or run `./scripts/test`, \
                 and point OKTA365_APP_BIN at it.",
                app_bin.display()
            );
        }
        let app_bin = app_bin
            .canonicalize()
            .with_context(|| format!("cannot resolve the app binary path {}", app_bin.display()))?;

        let driver_bin = find_driver()?;
        if find_on_path("WebKitWebDriver").is_none() {
            bail!(
                "WebKitWebDriver is not on PATH; tauri-driver needs it to drive the app. \
                 Install it with `apt-get install webkit2gtk-driver` (or run `./scripts/test`, which does)."
            );
        }
        if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
            bail!(
                "DISPLAY is not set: the end-to-end tests need an X display. Run them through \
                 `./scripts/test`, or start one yourself (`Xvfb :99 -screen 0 1280x800x24 & export DISPLAY=:99`)."
            );
        }

        let artifacts = match std::env::var_os("OKTA365_E2E_ARTIFACTS") {
            Some(p) => PathBuf::from(p),
            None => root.join("artifacts/e2e/latest"),
        };
        fs::create_dir_all(&artifacts)
            .with_context(|| format!("cannot create the artifacts dir {}", artifacts.display()))?;
        Ok(Harness {
            app_bin,
            driver_bin,
            artifacts,
        })
    }

    /// The app binary under test.
    pub fn app_bin(&self) -> &Path {
        &self.app_bin
    }

    /// Starts a scenario named after the test: its artifacts go to `{artifacts}/{name}/`, emptied first.
    pub fn scenario(&self, name: &str) -> Result<Scenario> {
        let dir = self.artifacts.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot empty the artifacts dir {}", dir.display()))?;
        }
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the artifacts dir {}", dir.display()))?;
        let data_dir = tempfile::Builder::new()
            .prefix(&format!("okta365-e2e-{name}-"))
            .tempdir()
            .context("cannot create a temp data dir")?;
        Ok(Scenario {
            harness: self.clone(),
            dir,
            data_dir: Arc::new(data_dir),
            shots: Arc::new(AtomicU32::new(0)),
            launches: Arc::new(AtomicU32::new(0)),
        })
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn find_driver() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "TAURI_DRIVER points at {}, which does not exist.",
            p.display()
        );
    }
    if let Some(p) = find_on_path("tauri-driver") {
        return Ok(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".cargo/bin/tauri-driver");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "tauri-driver is not installed. Install it with \
         `cargo install tauri-driver --version '^2' --locked` (or run `./scripts/test`, which does)."
    )
}

/// One test's world: an artifacts folder, a data dir kept across app launches, and a step counter so
/// screenshots sort in the order they were taken.
#[derive(Debug, Clone)]
pub struct Scenario {
    harness: Harness,
    dir: PathBuf,
    data_dir: Arc<tempfile::TempDir>,
    shots: Arc<AtomicU32>,
    launches: Arc<AtomicU32>,
}

impl Scenario {
    /// The data dir the app gets as `OKTA365_DATA_DIR`; the same for every launch of this scenario.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// This scenario's artifacts folder.
    pub fn artifacts_dir(&self) -> &Path {
        &self.dir
    }

    /// Launches the app on this scenario's data dir and waits until its window answers WebDriver.
    pub async fn launch(&self) -> Result<App> {
        let n = self.launches.fetch_add(1, Ordering::SeqCst) + 1;
        let log_path = self.dir.join(format!("launch-{n}.log"));
        let log = fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let port = free_port()?;
        let native_port = free_port()?;
        let driver = Command::new(&self.harness.driver_bin)
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .env("OKTA365_DATA_DIR", self.data_dir())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.harness.driver_bin.display()))?;

        let mut guard = DriverGuard {
            driver: Some(driver.id()),
            child: Some(driver),
            app_bin: self.harness.app_bin.clone(),
            data_dir: self.data_dir().to_path_buf(),
        };
        // Both must listen: tauri-driver answers at once, but proxies a new session to WebKitWebDriver,
        // which it starts alongside and which takes longer on a busy machine.
        for p in [port, native_port] {
            wait_for_port(p, guard.child.as_mut().expect("just set"), &log_path)?;
        }

        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": self.harness.app_bin, "args": [] }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // The driver is listening; from here on the clock measures the app (and WebKitWebDriver's
        // launch of it), not the driver's own start.
        let started = Instant::now();
        let connect = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await;
        let client = match connect {
            Ok(c) => c,
            Err(e) => {
                guard.stop();
                bail!(
                    "could not start the app {} through tauri-driver: {e}. Driver and app output: {}",
                    self.harness.app_bin.display(),
                    tail(&log_path)
                );
            }
        };
        Ok(App {
            client: Some(client),
            scenario: self.clone(),
            guard,
            log_path,
            started,
        })
    }
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(l.local_addr()?.port())
}

fn wait_for_port(port: u16, driver: &mut Child, log_path: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = driver.try_wait()? {
            bail!(
                "tauri-driver exited ({status}) before port {port} listened: {}",
                tail(log_path)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "nothing listened on port {port} within 15 s (tauri-driver or its WebKitWebDriver): {}",
                tail(log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(25);
    if lines.is_empty() {
        format!("(nothing in {})", path.display())
    } else {
        format!(
            "\n{}\n(full log: {})",
            lines[start..].join("\n"),
            path.display()
        )
    }
}

/// Stops tauri-driver (and with it WebKitWebDriver) and any app process left on the data dir, also when
/// a test panics half-way.
struct DriverGuard {
    child: Option<Child>,
    driver: Option<u32>,
    app_bin: PathBuf,
    data_dir: PathBuf,
}

impl DriverGuard {
    fn stop(&mut self) {
        for pid in app_pids(&self.app_bin, &self.data_dir) {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
        if let (Some(pid), Some(mut child)) = (self.driver.take(), self.child.take()) {
            // SIGTERM, not SIGKILL: tauri-driver stops its WebKitWebDriver on SIGTERM only.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Processes running `app_bin` with `OKTA365_DATA_DIR=data_dir` in their environment (from /proc).
pub fn app_pids(app_bin: &Path, data_dir: &Path) -> Vec<u32> {
    let mut needle = b"OKTA365_DATA_DIR=".to_vec();
    needle.extend_from_slice(data_dir.as_os_str().as_encoded_bytes());
    let bin = app_bin.as_os_str().as_encoded_bytes();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            // A rebuilt binary shows as "<path> (deleted)".
            exe.as_os_str().as_encoded_bytes().starts_with(bin)
                && fs::read(format!("/proc/{pid}/environ"))
                    .map(|env| env.split(|b| *b == 0).any(|var| var == needle.as_slice()))
                    .unwrap_or(false)
        })
        .collect()
}

/// A running app under WebDriver.
pub struct App {
    client: Option<Client>,
    scenario: Scenario,
    guard: DriverGuard,
    log_path: PathBuf,
    started: Instant,
}

impl App {
    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the session is open until close()")
    }

    /// When the launch was requested from the (already listening) driver.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The pids of the app process(es) on this scenario's data dir.
    pub fn pids(&self) -> Vec<u32> {
        app_pids(&self.guard.app_bin, &self.guard.data_dir)
    }

    /// Waits until the element with this `data-testid` is present and displayed. On timeout saves a
    /// `timeout-…` screenshot and fails, quoting the app's error banner if one is shown.
    pub async fn wait_for(&self, test_id: &str, timeout: Duration) -> Result<Element> {
        self.wait_for_css(&tid(test_id), timeout).await
    }

    /// Like [`App::wait_for`] with any CSS selector.
    pub async fn wait_for_css(&self, css: &str, timeout: Duration) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            let last_err = match self.client().find(Locator::Css(css)).await {
                Ok(el) => match el.is_displayed().await {
                    Ok(true) => return Ok(el),
                    Ok(false) => "present but not displayed".to_string(),
                    Err(e) => e.to_string(),
                },
                Err(e) if e.is_no_such_element() => "no such element".to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() > deadline {
                let banner = self.error_banner().await;
                let shot = self
                    .screenshot(&format!("timeout-{}", slug(css)))
                    .await
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|e| format!("(screenshot failed: {e})"));
                bail!(
                    "`{css}` was not visible after {:.0} s ({last_err}).{banner} Screenshot: {shot}. \
                     App output: {}",
                    timeout.as_secs_f64(),
                    tail(&self.log_path)
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The text of a visible `error-banner`, as a sentence for a failure message, or "".
    async fn error_banner(&self) -> String {
        match self.client().find(Locator::Css(&tid("error-banner"))).await {
            Ok(el) if el.is_displayed().await.unwrap_or(false) => {
                format!(
                    " The app shows an error: \"{}\".",
                    el.text().await.unwrap_or_default()
                )
            }
            _ => String::new(),
        }
    }

    /// Clicks the element with this `data-testid` once it is visible, enabled and still (see
    /// [`App::settle`]).
    ///
    /// Waiting for "enabled" matters after typing: a form's button may still be disabled for a moment
    /// by the check of the value typed before (the app checks fields as you type, debounced), and a
    /// click on a disabled button is silently lost.
    pub async fn click(&self, test_id: &str) -> Result<()> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let el = loop {
            let el = self.wait_for(test_id, STEP_TIMEOUT).await?;
            if el.is_enabled().await.unwrap_or(true) {
                break el;
            }
            if Instant::now() > deadline {
                let shot = self.screenshot(&format!("disabled-{test_id}")).await;
                bail!(
                    "{} stayed disabled for {:.0} s, so it could not be clicked. Screenshot: {}",
                    tid(test_id),
                    STEP_TIMEOUT.as_secs_f64(),
                    shot.map(|p| p.display().to_string())
                        .unwrap_or_else(|e| format!("(failed: {e})"))
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        self.settle(&el).await;
        el.click()
            .await
            .with_context(|| format!("clicking {}", tid(test_id)))
    }

    /// Waits (up to 2 s) until the element's box is the same in two reads 50 ms apart: content
    /// loading above it (a table filled in, a banner) moves it, and a click aimed at where it was lands
    /// on something else and is lost.
    async fn settle(&self, el: &Element) {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut last = el.rectangle().await.ok();
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = el.rectangle().await.ok();
            if now.is_some() && now == last {
                return;
            }
            last = now;
        }
    }

    /// Waits until an element with this `data-testid` is in the page, displayed or not.
    ///
    /// For reading, not clicking: WebKitWebDriver's "is displayed" check answers false for some
    /// elements that are plainly on screen (seen for a `<span>` holding only text with
    /// `overflow: hidden`), so reads do not depend on it. [`App::assert_on_screen`] checks the layout.
    pub async fn find(&self, test_id: &str, timeout: Duration) -> Result<Element> {
        let css = tid(test_id);
        let deadline = Instant::now() + timeout;
        loop {
            match self.client().find(Locator::Css(&css)).await {
                Ok(el) => return Ok(el),
                Err(e) if e.is_no_such_element() && Instant::now() <= deadline => {}
                Err(e) if e.is_no_such_element() => {
                    let banner = self.error_banner().await;
                    let shot = self.screenshot(&format!("missing-{test_id}")).await;
                    bail!(
                        "`{css}` was not in the page after {:.0} s.{banner} Screenshot: {}",
                        timeout.as_secs_f64(),
                        shot.map(|p| p.display().to_string())
                            .unwrap_or_else(|e| format!("(failed: {e})"))
                    );
                }
                Err(e) => return Err(anyhow!(e).context(format!("looking for {css}"))),
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The rendered text of the element with this `data-testid` (its `innerText`).
    ///
    /// Read through script rather than WebDriver's Get Element Text, which returns "" for any element
    /// that WebKitWebDriver's visibility check rejects (see [`App::find`]).
    pub async fn text(&self, test_id: &str) -> Result<String> {
        let el = self.find(test_id, STEP_TIMEOUT).await?;
        let arg = serde_json::to_value(&el)?;
        let value = self
            .client()
            .execute("return arguments[0].innerText;", vec![arg])
            .await
            .with_context(|| format!("reading the text of {}", tid(test_id)))?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// An attribute of the element with this `data-testid`.
    pub async fn attr(&self, test_id: &str, name: &str) -> Result<Option<String>> {
        let el = self.find(test_id, STEP_TIMEOUT).await?;
        el.attr(name)
            .await
            .with_context(|| format!("reading {name} of {}", tid(test_id)))
    }

    /// The element's box in CSS pixels: `(x, y, width, height)`.
    pub async fn rect(&self, test_id: &str) -> Result<(f64, f64, f64, f64)> {
        let el = self.find(test_id, STEP_TIMEOUT).await?;
        el.rectangle()
            .await
            .with_context(|| format!("reading the box of {}", tid(test_id)))
    }

    /// Checks that the element with this `data-testid` takes up space inside the window.
    pub async fn assert_on_screen(&self, test_id: &str) -> Result<()> {
        let (x, y, w, h) = self.rect(test_id).await?;
        let (vw, vh) = self
            .client()
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .ok()
            .and_then(|v| Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?)))
            .unwrap_or((f64::MAX, f64::MAX));
        if w <= 0.0 || h <= 0.0 || x >= vw || y >= vh || x + w <= 0.0 || y + h <= 0.0 {
            bail!(
                "{} is in the page but not on screen: box {w}x{h} at ({x}, {y}) in a {vw}x{vh} window",
                tid(test_id)
            );
        }
        Ok(())
    }

    /// Whether an element with this `data-testid` is present and displayed right now.
    pub async fn is_visible(&self, test_id: &str) -> Result<bool> {
        match self.client().find(Locator::Css(&tid(test_id))).await {
            Ok(el) => Ok(el.is_displayed().await?),
            Err(e) if e.is_no_such_element() => Ok(false),
            Err(e) => Err(anyhow!(e)),
        }
    }

    /// The DOM `value` property of the input, textarea or select with this `data-testid` (what the
    /// person typed, which the page source does not show for inputs).
    pub async fn value(&self, test_id: &str) -> Result<String> {
        let el = self.find(test_id, STEP_TIMEOUT).await?;
        let value = el
            .prop("value")
            .await
            .with_context(|| format!("reading the value of {}", tid(test_id)))?;
        Ok(value.unwrap_or_default())
    }

    /// Replaces what the input or textarea with this `data-testid` holds by typing `text` into it
    /// (WebDriver Element Clear, then Element Send Keys, so the page sees real key and input events),
    /// and checks that the field then holds exactly `text`. The failure message never quotes the
    /// value, which may be a secret.
    pub async fn type_into(&self, test_id: &str, text: &str) -> Result<()> {
        let el = self.wait_for(test_id, STEP_TIMEOUT).await?;
        el.clear()
            .await
            .with_context(|| format!("clearing {}", tid(test_id)))?;
        if !text.is_empty() {
            el.send_keys(text)
                .await
                .with_context(|| format!("typing into {}", tid(test_id)))?;
        }
        let held = self.value(test_id).await?;
        if held != text {
            bail!(
                "after typing {} characters into {}, it holds {} characters that differ from what was typed",
                text.chars().count(),
                tid(test_id),
                held.chars().count()
            );
        }
        Ok(())
    }

    /// Chooses the `<option>` with this value in the `<select>` with this `data-testid` (a click on
    /// the option, as a person would) and checks that the select then holds it.
    pub async fn select(&self, test_id: &str, value: &str) -> Result<()> {
        let el = self.wait_for(test_id, STEP_TIMEOUT).await?;
        el.select_by_value(value)
            .await
            .with_context(|| format!("choosing {value:?} in {}", tid(test_id)))?;
        let held = self.value(test_id).await?;
        if held != value {
            bail!(
                "after choosing {value:?} in {}, it holds {held:?}",
                tid(test_id)
            );
        }
        Ok(())
    }

    /// Waits until the rendered text of the element with this `data-testid` contains `needle`;
    /// answers the whole text. On timeout fails quoting the text it had.
    pub async fn wait_for_text(
        &self,
        test_id: &str,
        needle: &str,
        timeout: Duration,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text(test_id).await?;
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                let banner = self.error_banner().await;
                let shot = self.screenshot(&format!("timeout-text-{test_id}")).await;
                bail!(
                    "{} did not say {needle:?} within {:.0} s; it says {text:?}.{banner} Screenshot: {}",
                    tid(test_id),
                    timeout.as_secs_f64(),
                    shot.map(|p| p.display().to_string())
                        .unwrap_or_else(|e| format!("(failed: {e})"))
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks `button` and waits until a *new* element with the `data-testid` `result` is shown: one
    /// that was not in the page before the click (a result that is re-rendered counts as new). Fails
    /// early when `error` (an element with that test id) shows up instead, quoting it.
    pub async fn click_for_new(
        &self,
        button: &str,
        result: &str,
        error: &str,
        timeout: Duration,
    ) -> Result<Element> {
        let css = tid(result);
        let before = match self.client().find(Locator::Css(&css)).await {
            Ok(el) => Some(el.element_id()),
            Err(e) if e.is_no_such_element() => None,
            Err(e) => return Err(anyhow!(e).context(format!("looking for {css}"))),
        };
        self.click(button).await?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(el) = self.client().find(Locator::Css(&css)).await
                && Some(el.element_id()) != before
            {
                return Ok(el);
            }
            if self.is_visible(error).await.unwrap_or(false) {
                let text = self.text(error).await.unwrap_or_default();
                let shot = self.screenshot(&format!("error-{error}")).await;
                bail!(
                    "after clicking {}, the app showed {}: {text:?}. Screenshot: {}",
                    tid(button),
                    tid(error),
                    shot.map(|p| p.display().to_string())
                        .unwrap_or_else(|e| format!("(failed: {e})"))
                );
            }
            if Instant::now() > deadline {
                let banner = self.error_banner().await;
                let shot = self.screenshot(&format!("timeout-new-{result}")).await;
                bail!(
                    "no new {css} within {:.0} s of clicking {}.{banner} Screenshot: {}. App output: {}",
                    timeout.as_secs_f64(),
                    tid(button),
                    shot.map(|p| p.display().to_string())
                        .unwrap_or_else(|e| format!("(failed: {e})")),
                    tail(&self.log_path)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The rendered text (`innerText`) of every element matching this CSS selector, in page order.
    pub async fn texts(&self, css: &str) -> Result<Vec<String>> {
        let value = self
            .client()
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText);",
                vec![serde_json::Value::String(css.to_string())],
            )
            .await
            .with_context(|| format!("reading the text of {css}"))?;
        let texts = value
            .as_array()
            .ok_or_else(|| anyhow!("reading the text of {css} answered {value}, not a list"))?;
        Ok(texts
            .iter()
            .map(|t| t.as_str().unwrap_or_default().to_string())
            .collect())
    }

    /// Scrolls the element with this `data-testid` into view, its top at the top of its scrolling
    /// area (`center`: in the middle), so that the next screenshot shows it.
    pub async fn scroll_to(&self, test_id: &str, center: bool) -> Result<()> {
        let el = self.find(test_id, STEP_TIMEOUT).await?;
        let arg = serde_json::to_value(&el)?;
        let block = if center { "center" } else { "start" };
        self.client()
            .execute(
                "arguments[0].scrollIntoView({block: arguments[1], inline: 'nearest'});",
                vec![arg, serde_json::Value::String(block.into())],
            )
            .await
            .with_context(|| format!("scrolling to {}", tid(test_id)))?;
        Ok(())
    }

    /// The `data-testid`s of every element matching this CSS selector, in page order.
    pub async fn test_ids(&self, css: &str) -> Result<Vec<String>> {
        let found = self
            .client()
            .find_all(Locator::Css(css))
            .await
            .with_context(|| format!("looking for {css}"))?;
        let mut ids = Vec::new();
        for el in found {
            if let Some(id) = el.attr("data-testid").await? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Saves `{nn}-{step}.png` and `{nn}-{step}.html` (the page source) in the scenario's artifacts
    /// folder and returns the PNG's path.
    pub async fn screenshot(&self, step: &str) -> Result<PathBuf> {
        let n = self.scenario.shots.fetch_add(1, Ordering::SeqCst) + 1;
        let base = self.scenario.dir.join(format!("{n:02}-{}", slug(step)));
        let png = self
            .client()
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let png_path = base.with_extension("png");
        fs::write(&png_path, png).with_context(|| format!("writing {}", png_path.display()))?;
        let source = self
            .client()
            .source()
            .await
            .context("reading the page source")?;
        fs::write(base.with_extension("html"), source)?;
        Ok(png_path)
    }

    /// Ends the WebDriver session, which closes the app, and waits for the app process to exit so the
    /// next launch on the same data dir starts clean. Copies the app's log files into the artifacts.
    pub async fn close(mut self) -> Result<()> {
        let client = self.client.take().expect("close() is called once");
        client
            .close()
            .await
            .context("ending the WebDriver session")?;
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            let left = app_pids(&self.guard.app_bin, &self.guard.data_dir);
            if left.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the app (pid {left:?}) was still running {} s after its window was closed",
                    EXIT_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.guard.stop();
        self.copy_app_logs();
        Ok(())
    }

    fn copy_app_logs(&self) {
        let Ok(entries) = fs::read_dir(self.scenario.data_dir().join("logs")) else {
            return;
        };
        for e in entries.flatten() {
            let dest = self
                .scenario
                .dir
                .join(format!("app-{}", e.file_name().to_string_lossy()));
            let _ = fs::copy(e.path(), dest);
        }
        if let Ok(mut f) = fs::OpenOptions::new().append(true).open(&self.log_path) {
            let _ = writeln!(f, "-- session closed --");
        }
    }
}

/// A secret value a test used (typed, received or read back from the keychain), named for failure
/// messages, which never quote the value itself.
#[derive(Clone)]
pub struct SecretValue {
    /// What it is, e.g. "the Entra client secret minted by the sandbox".
    pub name: String,
    /// The value searched for, byte for byte.
    pub value: String,
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretValue({:?}, {} characters)",
            self.name,
            self.value.chars().count()
        )
    }
}

impl SecretValue {
    /// The shortest value worth searching for: shorter ones could turn up by chance.
    pub const MIN_LEN: usize = 12;

    /// A named secret value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> SecretValue {
        SecretValue {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The parts of a private key that would give it away, each searched for on its own: every base64
    /// line of a PEM body, and for a JWK its private members (`d`, `p`, `q`, `dp`, `dq`, `qi`). A
    /// whole PEM or JWK is rarely copied verbatim (JSON escapes its line breaks), its pieces are.
    pub fn key_parts(name: &str, key: &str) -> Vec<SecretValue> {
        let key = key.trim();
        if key.starts_with('{') {
            let Ok(jwk) = serde_json::from_str::<serde_json::Value>(key) else {
                return Vec::new();
            };
            return ["d", "p", "q", "dp", "dq", "qi"]
                .into_iter()
                .filter_map(|m| {
                    let v = jwk.get(m)?.as_str()?;
                    (v.len() >= Self::MIN_LEN)
                        .then(|| SecretValue::new(format!("{name} (JWK member {m})"), v))
                })
                .collect();
        }
        key.lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("-----") && l.len() >= Self::MIN_LEN)
            .enumerate()
            .map(|(i, l)| SecretValue::new(format!("{name} (PEM line {})", i + 1), l))
            .collect()
    }
}

/// What [`scan_for_secrets`] found.
#[derive(Debug, Default)]
pub struct SecretScan {
    /// Every file read.
    pub files: Vec<PathBuf>,
    /// Each file that holds a secret, with the secret's name.
    pub hits: Vec<(PathBuf, String)>,
}

/// Reads every file under `roots` (recursively; a root may be a file) and reports those that contain
/// one of `secrets` byte for byte. Fails on a secret shorter than [`SecretValue::MIN_LEN`], which
/// could match by chance, and on a root that does not exist.
pub fn scan_for_secrets(roots: &[&Path], secrets: &[SecretValue]) -> Result<SecretScan> {
    if let Some(short) = secrets
        .iter()
        .find(|s| s.value.len() < SecretValue::MIN_LEN)
    {
        bail!(
            "{} is too short to search for ({} bytes)",
            short.name,
            short.value.len()
        );
    }
    let mut scan = SecretScan::default();
    let mut todo: Vec<PathBuf> = roots.iter().map(|r| r.to_path_buf()).collect();
    while let Some(path) = todo.pop() {
        let meta = fs::symlink_metadata(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            for e in
                fs::read_dir(&path).with_context(|| format!("cannot list {}", path.display()))?
            {
                todo.push(e?.path());
            }
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        // A file may vanish between listing and reading (SQLite's -shm/-wal files, a log rotation).
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(anyhow!(e).context(format!("cannot read {}", path.display()))),
        };
        for s in secrets {
            if bytes
                .windows(s.value.len())
                .any(|w| w == s.value.as_bytes())
            {
                scan.hits.push((path.clone(), s.name.clone()));
            }
        }
        scan.files.push(path);
    }
    scan.files.sort();
    Ok(scan)
}

/// Turns a step name or selector into a file-name-safe slug.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_keeps_names_file_safe() {
        assert_eq!(
            slug("[data-testid=\"step-welcome\"]"),
            "data-testid-step-welcome"
        );
        assert_eq!(slug("Welcome screen"), "welcome-screen");
    }

    #[test]
    fn tid_quotes_the_test_id() {
        assert_eq!(tid("app-ready"), "[data-testid=\"app-ready\"]");
    }

    #[test]
    fn scan_finds_a_secret_in_a_nested_file_and_names_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("logs")).unwrap();
        fs::write(
            dir.path().join("logs/app.log"),
            "token=abcDEF123~ghiJKL456 sent",
        )
        .unwrap();
        fs::write(dir.path().join("clean.txt"), "nothing here").unwrap();
        let secrets = [
            SecretValue::new("the test secret", "abcDEF123~ghiJKL456"),
            SecretValue::new("an absent secret", "zzzzzzzzzzzzzzzz"),
        ];
        let scan = scan_for_secrets(&[dir.path()], &secrets).unwrap();
        assert_eq!(scan.files.len(), 2, "both files are read");
        assert_eq!(
            scan.hits,
            vec![(
                dir.path().join("logs/app.log"),
                "the test secret".to_string()
            )]
        );
    }

    #[test]
    fn scan_refuses_a_value_too_short_to_search_for() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err =
            scan_for_secrets(&[dir.path()], &[SecretValue::new("a short one", "abc")]).unwrap_err();
        assert!(
            err.to_string().contains("a short one is too short"),
            "{err}"
        );
    }

    #[test]
    fn key_parts_split_a_pem_body_and_a_jwk_private_part() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\nAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n";
        let parts = SecretValue::key_parts("key", pem);
        let values: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(
            values,
            ["MIIEvQIBADANBgkqhkiG9w0BAQEF", "AASCBKcwggSjAgEAAoIBAQC7"]
        );
        let jwk = r#"{"kty":"EC","crv":"P-256","x":"public-x-value-xx","d":"private-d-value-dd"}"#;
        let parts = SecretValue::key_parts("key", jwk);
        assert_eq!(parts.len(), 1, "only the private member: {parts:?}");
        assert_eq!(parts[0].value, "private-d-value-dd");
    }

    #[test]
    fn app_pids_finds_nothing_for_an_unknown_data_dir() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(
            app_pids(Path::new("/bin/sh"), dir.path()).is_empty(),
            "no process runs with a fresh temp dir as its data dir"
        );
    }
}
