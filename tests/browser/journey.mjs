// The journey of issue 16 in a real headless Chromium, against a running `evident serve`:
// an administrator adopts ISO 27001 and SOC 2 and the baseline, maps a control, uploads evidence,
// sees readiness change, accepts a gap suggestion and approves the SoA; then the auditor finds
// nothing to edit anywhere. Every page is saved as a screenshot at 1280 and 390 px and checked
// with axe-core (no serious or critical violation).
//
//   node journey.mjs BASE_URL ADMIN_EMAIL ADMIN_PASSWORD AUDITOR_EMAIL AUDITOR_PASSWORD OUT_DIR
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [base, adminEmail, adminPassword, auditorEmail, auditorPassword, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: node journey.mjs BASE ADMIN_EMAIL ADMIN_PASSWORD AUDITOR_EMAIL AUDITOR_PASSWORD OUT_DIR");
  process.exit(2);
}
const shots = path.join(out, "screenshots");
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});

const failures = [];
const accessibility = [];
const pages = [];
let step = 0;

function check(condition, message) {
  if (!condition) {
    failures.push(message);
    console.error(`FAIL ${message}`);
  } else {
    console.log(`ok   ${message}`);
  }
}

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  // A page that breaks its own Content-Security-Policy, or throws, is a failure.
  // A refusal the journey provokes (a wrong password, a concurrent edit) is an answer, not an error.
  const expected = /Failed to load resource: the server responded with a status of (401|409|422)/;
  page.on("console", (m) => {
    if (m.type() === "error" && !expected.test(m.text())) failures.push(`console error on ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => failures.push(`script error on ${page.url()}: ${e.message}`));
  page.on("dialog", async (d) => { failures.push(`a dialog opened (script ran?): ${d.message()}`); await d.dismiss(); });
  return page;
}

// Saves the page at both widths and runs axe on it.
async function look(page, name) {
  step += 1;
  const label = `${String(step).padStart(2, "0")}-${name}`;
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    const file = path.join(shots, `${label}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 120000 });
    pages.push({ name: label, width, url: page.url(), file });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) {
    accessibility.push({ page: label, id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) });
  }
  check(bad.length === 0, `${label}: no serious or critical axe violation${bad.length ? ` (${bad.map((v) => v.id).join(", ")})` : ""}`);
}

async function signIn(page, email, password) {
  await page.goto(`${base}/`);
  check(page.url().includes("/login"), "an anonymous visitor is sent to the sign-in form");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  check(!page.url().includes("/login"), `${email} signs in`);
}

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function readiness(page, framework) {
  await page.goto(`${org}`);
  const row = page.locator("table.bars tbody tr", { has: page.locator(`a:text-is("${framework}")`) });
  const text = await row.locator(".pct").textContent();
  return parseFloat(text);
}

// ------------------------------------------------------------------------------------------------
// The administrator.
const admin = await newPage();
await signIn(admin, adminEmail, adminPassword);
const org = admin.url().replace(/\/$/, "");
await look(admin, "dashboard-empty");

// A wrong password is refused on the form, kindly.
{
  const other = await newPage();
  await other.goto(`${base}/login`);
  await other.fill("#email", adminEmail);
  await other.fill("#password", "not the password at all");
  await submit(other, "button[type=submit]");
  check((await other.locator("#login-error").textContent()).includes("not right"), "a wrong password is refused with a message");
  await look(other, "login-refused");
  await other.context().close();
}

for (const framework of ["iso27001:2022", "soc2:2017"]) {
  await admin.goto(`${org}/frameworks`);
  if (framework === "iso27001:2022") await look(admin, "frameworks");
  await admin.click(`a[href$="/frameworks/${encodeURIComponent(framework)}#adopt"]`);
  await admin.waitForLoadState();
  if (framework === "iso27001:2022") await look(admin, "framework-adopt");
  await submit(admin, "#adopt button[type=submit]");
  check((await admin.locator(".notice").textContent()).includes("adopted"), `${framework} is adopted`);
}

await admin.goto(`${org}/controls`);
await submit(admin, "form[action$='/controls/baseline'] button");
check((await admin.locator(".notice").textContent()).includes("baseline"), "the baseline is adopted");
const total = parseInt(await admin.locator("#controls-table [role=status]").textContent(), 10);
check(total > 20, `the baseline brings controls (${total})`);
await look(admin, "controls");

// Filtering redraws the table in place (htmx) and keeps the address shareable.
await admin.selectOption("#f-framework", "soc2:2017");
await admin.waitForURL(/framework=soc2/);
check(await admin.locator("#controls-table tbody tr").count() > 0, "filtering by framework leaves controls mapped to it");

// A user's text is shown as text: a title with markup does not run.
await admin.goto(`${org}/controls`);
await admin.fill("#n-code", "XSS-1");
await admin.fill("#n-title", "<script>alert(1)</script><img src=x onerror=alert(2)>");
await submit(admin, "#new button[type=submit]");
check((await admin.locator("h1").textContent()).includes("<script>alert(1)</script>"), "a control titled with markup shows it as text");

// The control to work on: the first baseline control in the list.
const beforeIso = await readiness(admin, "iso27001:2022");
await admin.goto(`${org}/controls?framework=iso27001%3A2022`);
const code = (await admin.locator("#controls-table tbody tr th a").first().textContent()).trim();
await admin.goto(`${org}/controls/${code}`);
await look(admin, "control");

// Map it to one more requirement.
await admin.selectOption("#m-framework", "soc2:2017");
await admin.fill("#m-requirement", "CC1.1");
await admin.fill("#m-rationale", "the journey maps it");
await submit(admin, "form[action$='/map'] button");
check((await admin.locator(".notice").textContent()).includes("mapping"), `${code} is mapped to CC1.1`);

// Two people edit it at once: the second save is refused with both versions shown.
const second = await newPage();
await signIn(second, adminEmail, adminPassword);
await second.goto(`${org}/controls/${code}`);
await admin.selectOption("#e-status", "implemented");
await submit(admin, "#edit button[type=submit]");
check((await admin.locator(".notice").textContent()).includes("saved"), `${code} is marked implemented`);
await second.fill("#e-title", "A title from the second tab");
const conflict = await Promise.all([second.waitForNavigation(), second.click("#edit button[type=submit]")]);
check(conflict[0].status() === 409, "the later of two concurrent edits gets 409");
check((await second.locator("#edit-error").textContent()).includes("Someone else saved"), "and is told kindly, with both versions");
await look(second, "control-conflict");
await second.context().close();

// Upload evidence for it.
await admin.goto(`${org}/evidence`);
await admin.selectOption("#u-control", code);
const file = path.join(out, "access-review.txt");
writeFileSync(file, `access review for ${code}, ${new Date().toISOString()}\n`);
await admin.setInputFiles("#u-file", file);
await submit(admin, "#upload button[type=submit]");
check((await admin.locator(".notice").textContent()).includes("evidence is stored"), "the evidence is uploaded");
await look(admin, "evidence");
await admin.click(`table a:text-is("access-review.txt")`);
await admin.waitForLoadState();
check((await admin.locator("code.hash").textContent()).length === 64, "the evidence shows its SHA-256");
await look(admin, "evidence-one");

const afterIso = await readiness(admin, "iso27001:2022");
check(afterIso > beforeIso, `readiness for ISO 27001 rises on the dashboard (${beforeIso}% → ${afterIso}%)`);
await look(admin, "dashboard");

// Gap: SOC 2 → ISO 27001, accept one suggestion.
await admin.goto(`${org}/gap?from=soc2%3A2017&to=iso27001%3A2022`);
await look(admin, "gap");
const boxes = admin.locator("input[name=ref]");
check(await boxes.count() > 0, "the gap offers suggestions to accept");
if (await boxes.count() > 0) {
  await boxes.first().check();
  await submit(admin, "form[method=post][action$='/gap'] button[type=submit]:not([name])");
  const said = (await admin.locator("main").textContent()).replace(/\s+/g, " ").slice(0, 300);
  check(said.includes("accepted"), `a gap suggestion is accepted (${said.trim()})`);
}

// The SoA: approve it, then compare.
await admin.goto(`${org}/soa`);
await look(admin, "soa");
await submit(admin, "form[action$='/soa/approve'] button");
check((await admin.locator(".notice").textContent()).includes("approved"), "the SoA is approved");
await admin.goto(`${org}/soa/diff`);
await look(admin, "soa-diff");

for (const [name, where] of [["risks", "/risks"], ["audit", "/audit?verify=true"], ["account", "/admin"]]) {
  await admin.goto(`${org}${where}`);
  await look(admin, name);
}
check((await admin.locator("body").textContent()).length > 0, "the account page renders");

// Members: add one with a role; the account page lists them with it.
await admin.goto(`${org}/admin`);
await admin.fill("#m-email", "journey.viewer@example.org");
await admin.selectOption("#m-role", "viewer");
await submit(admin, "form[action$='/admin/members'] button[type=submit]");
check((await admin.locator(".notice").textContent()).includes("member is added"), "a member is added");
check((await admin.locator("#members tbody").textContent()).includes("journey.viewer@example.org"), "and listed");

// Assets: one added from the register's form, with its page.
await admin.goto(`${org}/assets`);
await admin.fill("#n-code", "AST-J1");
await admin.fill("#n-name", "Customer database");
await submit(admin, "#new button[type=submit]");
check((await admin.locator(".notice").textContent()).includes("asset is added"), "an asset is added");
await look(admin, "assets");
await admin.goto(`${org}/assets/AST-J1`);
await look(admin, "asset");

// The methodology (a new organisation has none yet): changing a cell redraws the preview (the
// server draws it, saving nothing); Save makes it the first version, which assesses risks.
await admin.goto(`${org}/risks/methodology`);
const cell = admin.locator("select[id^=cell-]").first();
const options = await cell.locator("option").allTextContents();
const current = await cell.inputValue();
const other = options.find((o) => o !== current);
if (other) {
  await Promise.all([admin.waitForResponse((r) => r.url().endsWith("/methodology/preview")), cell.selectOption(other)]);
  check((await admin.locator("#preview svg").count()) > 0, "the methodology preview is redrawn by the server");
}
await look(admin, "methodology");
await submit(admin, "#edit button[type=submit]");
check((await admin.locator(".notice").textContent()).includes("methodology is saved"), "the methodology is saved");

// Risks: one created from the register's form on that asset, then edited on its page.
await admin.goto(`${org}/risks`);
await admin.fill("#rf-code", "R-J1");
await admin.fill("#rf-title", "Customer data read by a former employee");
await admin.selectOption("#rf-assets", "AST-J1");
await admin.fill("#rf-threat", "a leaver keeps access");
await admin.fill("#rf-vulnerability", "access is not removed on the last day");
await admin.selectOption("#rf-owner", adminEmail);
await admin.selectOption("#rf-controls", code);
await admin.fill("#rf-review", "2027-06-30");
await submit(admin, "#new-risk button[type=submit]");
const created = (await admin.locator("main").textContent()).replace(/\s+/g, " ");
const refused = (await admin.locator(".field-error, .error").allTextContents()).join("; ");
check(created.includes("risk is created"), `a risk is created from the register${refused ? ` (refused: ${refused})` : ""}`);
await admin.goto(`${org}/risks/R-J1`);
check((await admin.locator("#edit #rf-title").count()) === 1, `the risk's page has its edit form (${(await admin.locator("main").textContent()).replace(/\s+/g, " ").slice(0, 300)})`);
await admin.fill("#rf-title", "Customer data read by a former employee or contractor");
await submit(admin, "#edit button[type=submit]");
check((await admin.locator(".notice").textContent()).includes("risk are saved"), "the risk is edited");
await look(admin, "risk");

// One SoA row decided on its own page.
await admin.goto(`${org}/soa/A.5.1`);
await admin.fill("#d-justification", "Policies are the base of the ISMS.");
await submit(admin, "#decide button[type=submit]");
check((await admin.locator(".notice").textContent()).includes("decision is saved"), "an SoA row is decided");
await admin.goto(`${org}/soa/A.5.1`);
await look(admin, "soa-row");

// Imports: a spreadsheet with bad rows shows each problem before anything lands.
await admin.goto(`${org}/imports`);
await admin.selectOption("#i-kind", "assets");
const sheet = path.join(out, "assets.csv");
writeFileSync(sheet, "code,name,type,owner,classification,confidentiality,integrity,availability,parent\nAST-J2,,data,,,9,1,1,\n");
await admin.setInputFiles("#i-file", sheet);
await Promise.all([admin.waitForResponse((r) => r.url().endsWith("/imports")), admin.click("#import-form button[value=check]")]);
await admin.locator("table.problems").waitFor();
check((await admin.locator("table.problems tbody tr").count()) >= 2, "the import lists each row problem");
await look(admin, "imports");

// The Type 2 window: the control implemented, mapped to SOC 2 and evidenced is tested.
await admin.goto(`${org}/type2`);
check((await admin.locator("main table").first().textContent()).includes(code), `${code} is in the Type 2 window`);
await look(admin, "type2");
await admin.goto(`${org}/audit?verify=true`);
check((await admin.locator(".good[role=status]").count()) === 1, "verify says the audit chain is intact");

// ------------------------------------------------------------------------------------------------
// The auditor: the same pages, and not one control that edits.
const auditor = await newPage();
await signIn(auditor, auditorEmail, auditorPassword);
const auditorOrg = auditor.url().replace(/\/$/, "");
for (const where of ["", "/frameworks", `/frameworks/${encodeURIComponent("iso27001:2022")}`, "/controls", `/controls/${code}`,
                     "/gap?from=soc2%3A2017&to=iso27001%3A2022", "/soa", "/soa/A.5.1", "/risks", "/risks/R-J1", "/risks/methodology", "/assets", "/assets/AST-J1", "/imports",
                     "/evidence", "/type2", "/audit", "/admin"]) {
  await auditor.goto(`${auditorOrg}${where}`);
  const forms = await auditor.locator("form[method=post]").evaluateAll((fs) =>
    fs.map((f) => f.getAttribute("action")).filter((a) => a !== "/logout" && !a.endsWith("/admin/password") && !a.endsWith("/admin/tokens")));
  check(forms.length === 0, `the auditor sees no editing form on ${where || "the dashboard"}${forms.length ? ` (${forms.join(", ")})` : ""}`);
  const boxes = await auditor.locator("input[name=ref]").count();
  check(boxes === 0, `the auditor sees nothing to accept on ${where || "the dashboard"}`);
}
await auditor.goto(`${auditorOrg}/controls/${code}`);
await look(auditor, "auditor-control");

await browser.close();
writeFileSync(path.join(out, "pages.json"), JSON.stringify(pages, null, 2));
writeFileSync(path.join(out, "axe.json"), JSON.stringify(accessibility, null, 2));
console.log(`${pages.length} screenshots in ${shots}; ${accessibility.length} serious or critical axe finding(s)`);
if (failures.length) {
  console.error(`\n${failures.length} failure(s):\n- ${failures.join("\n- ")}`);
  process.exit(1);
}
console.log("the journey passed");
