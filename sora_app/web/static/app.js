// The built-in page: the generate form, live progress (SSE), the player and the library.
// Plain ES module, no framework, nothing loaded from elsewhere: it works offline.

const $ = (selector, root = document) => root.querySelector(selector);
const STAGES = [
  ["script", "Script", 25],
  ["images", "Images", 50],
  ["narration", "Narration", 75],
  ["compile", "Compile", 101],
];
const FORM_FIELDS = [
  "topic", "story_type", "image_style", "image_mode", "voice_id", "duration", "hook_intensity",
  "pacing", "num_scenes", "characters", "manual_image_paths", "stock_keywords", "aspect_ratio",
];
const FINAL_EVENTS = ["complete", "error", "cancelled"];

// ---- tokens and API calls -------------------------------------------------------------

const store = {
  get access() { return sessionStorage.getItem("sora.access"); },
  get refresh() { return sessionStorage.getItem("sora.refresh"); },
  save(tokens) {
    if (tokens.access_token) sessionStorage.setItem("sora.access", tokens.access_token);
    if (tokens.refresh_token) sessionStorage.setItem("sora.refresh", tokens.refresh_token);
  },
  clear() {
    sessionStorage.removeItem("sora.access");
    sessionStorage.removeItem("sora.refresh");
    media = null;
  },
};
let authRequired = false;
let media = null; // {token, until}: the media token for URLs (<video src>, EventSource)

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `The server answered ${status}.`);
    this.status = status;
    this.code = body?.error;
    this.field = body?.field;
    this.errors = body?.details?.errors; // every invalid field, not only the first
  }
}

async function call(path, { method = "GET", json, form, token = store.access } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const response = await fetch(path, { method, headers, body });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  return { response, data };
}

async function refreshAccess() {
  if (!store.refresh) return false;
  const { response, data } = await call("/api/auth/refresh", { method: "POST", token: store.refresh });
  if (!response.ok) return false;
  store.save(data);
  return true;
}

/** A JSON call that refreshes an expired access token once, and asks to log in on a 401. */
async function api(path, options = {}) {
  let { response, data } = await call(path, options);
  if (response.status === 401 && store.access && (await refreshAccess())) {
    ({ response, data } = await call(path, options));
  }
  if (response.status === 401 && authRequired) {
    store.clear();
    showLogin("Your session has ended: please log in again.");
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** `path` with `?token=` when this server needs one (media tags and EventSource send no headers). */
async function mediaUrl(path) {
  if (!authRequired || !path) return path;
  if (!media || media.until < Date.now()) {
    const data = await api("/api/auth/media-token", { method: "POST" });
    media = { token: data.token, until: Date.now() + (data.expires_in - 60) * 1000 };
  }
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(media.token)}`;
}

function say(message) {
  $("#page-status").textContent = message;
}

// ---- login -----------------------------------------------------------------------------

let registering = false;

function showLogin(message = "") {
  $("#app").hidden = true;
  $("#account").hidden = true;
  $("#auth").hidden = false;
  setAuthMode(false);
  $("#auth-error").textContent = message;
  $("#auth-username").focus();
}

function setAuthMode(register) {
  registering = register;
  $("#auth-title").textContent = register ? "Create an account" : "Log in";
  $("#auth-submit").textContent = register ? "Create account" : "Log in";
  $("#auth-switch").textContent = register ? "I have an account: log in" : "Create an account instead";
  $("#auth-email-field").hidden = !register;
  $("label[for=auth-username]").textContent = register ? "Username" : "Username or email";
  $("#auth-password").autocomplete = register ? "new-password" : "current-password";
  $("#auth-error").textContent = "";
}

async function submitLogin(event) {
  event.preventDefault();
  const username = $("#auth-username").value.trim();
  const password = $("#auth-password").value;
  const body = { username, password };
  const email = $("#auth-email").value.trim();
  if (registering && email) body.email = email;
  const path = registering ? "/api/auth/register" : "/api/auth/login";
  const { response, data } = await call(path, { method: "POST", json: body, token: null });
  if (!response.ok) {
    $("#auth-error").textContent = data?.message || "That did not work.";
    return;
  }
  store.save(data);
  $("#auth-password").value = "";
  await enter(data.user);
}

async function logout() {
  if (store.access) {
    await call("/api/auth/logout", {
      method: "POST", json: { refresh_token: store.refresh },
    }).catch(() => {});
  }
  store.clear();
  closeStream();
  $("#job").hidden = true;
  $("#player-card").hidden = true;
  showLogin();
}

/** Who is asking: the local user in open mode, a stored login, or nobody yet. */
async function whoAmI() {
  const { response, data } = await call("/api/auth/me");
  if (response.ok) return data;
  if (response.status === 401 && store.access && (await refreshAccess())) {
    const again = await call("/api/auth/me");
    if (again.response.ok) return again.data;
  }
  return null;
}

async function enter(user) {
  $("#auth").hidden = true;
  $("#app").hidden = false;
  $("#account").hidden = !authRequired;
  $("#account-name").textContent = authRequired ? `Signed in as ${user.username}` : "";
  await Promise.all([loadPictures(), loadLibrary()]);
  $("#topic").focus();
}

// ---- the form --------------------------------------------------------------------------

function fillSelect(select, values, chosen, label = (v) => v.replaceAll("_", " ")) {
  select.replaceChildren(
    ...values.map((value) => {
      const option = new Option(label(value), value);
      option.selected = value === chosen;
      return option;
    }),
  );
}

async function loadChoices() {
  const [options, voices] = await Promise.all([api("/api/options"), api("/api/voices")]);
  const defaults = options.defaults || {};
  for (const select of document.querySelectorAll("select[data-options]")) {
    const name = select.dataset.options;
    fillSelect(select, options[name] || [], defaults[name]);
  }
  voiceInfo = Object.fromEntries(voices.voices.map((v) => [v.id, v]));
  fillVoices($("#voice_id"), options.voice_id, voices.default || defaults.voice_id);
  describeVoice();
  const duration = $("#duration");
  duration.min = options.duration_minutes.min;
  duration.max = options.duration_minutes.max;
  duration.value = defaults.duration ?? 1;
  $("#hint-duration").textContent =
    `${options.duration_minutes.min}–${options.duration_minutes.max} minutes; 0.5 is 30 seconds.`;
  const scenes = $("#num_scenes");
  scenes.min = options.num_scenes.min;
  scenes.max = options.num_scenes.max;
  scenes.value = defaults.num_scenes ?? 5;
  $("#music").checked = defaults.music ?? true;
  $("#subtitles").checked = defaults.subtitles ?? true;
}

let voiceInfo = {};
let sample = null;

/** The voices this server can speak with, then each other one greyed out under why not
 * (a hosted voice without a speech API): listed, so nobody wonders where it went. */
function fillVoices(select, ids, chosen) {
  const usable = ids.filter((id) => voiceInfo[id]?.available !== false);
  const options = usable.map((id) => {
    const option = new Option(voiceInfo[id]?.name || id, id);
    option.selected = id === (usable.includes(chosen) ? chosen : usable[0]);
    return option;
  });
  const groups = new Map(); // reason -> <optgroup>
  for (const id of ids.filter((id) => !usable.includes(id))) {
    const reason = voiceInfo[id].unavailable_reason || "not available on this server";
    if (!groups.has(reason)) {
      const group = document.createElement("optgroup");
      group.label = `Not available here — ${reason}`;
      groups.set(reason, group);
    }
    const option = new Option(voiceInfo[id].name || id, id);
    option.disabled = true;
    option.title = reason;
    groups.get(reason).append(option);
  }
  select.replaceChildren(...options, ...groups.values());
}

function describeVoice() {
  const voice = voiceInfo[$("#voice_id").value];
  $("#hint-voice_id").textContent = voice ? `${voice.style} · ${voice.language}` : "";
}

async function previewVoice() {
  const id = $("#voice_id").value;
  $("#err-voice_id").textContent = "";
  try {
    if (sample) sample.pause();
    sample = new Audio(await mediaUrl(`/api/voices/${encodeURIComponent(id)}/preview`));
    sample.addEventListener("error", () => {
      $("#err-voice_id").textContent = "This voice cannot be heard on this server right now.";
    });
    await sample.play();
  } catch (error) {
    if (error.name !== "AbortError" && error.name !== "NotSupportedError") {
      $("#err-voice_id").textContent = error.message;
    }
  }
}

let rowCount = 0;

function addCharacter() {
  const list = $("#characters");
  if (list.children.length >= 10) return;
  const row = $("#character-row").content.firstElementChild.cloneNode(true);
  rowCount += 1;
  for (const [index, input] of [...row.querySelectorAll("input")].entries()) {
    input.id = `character-${rowCount}-${index}`;
    input.previousElementSibling.htmlFor = input.id;
  }
  $(".remove", row).setAttribute("aria-label", `Remove character ${list.children.length + 1}`);
  $(".remove", row).addEventListener("click", () => {
    row.remove();
    $("#add-character").focus();
  });
  list.append(row);
  $(".character-name", row).focus();
}

function renderPicture(item, checked) {
  const li = document.createElement("li");
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.name = "manual_image_paths";
  box.value = item.id;
  box.checked = checked;
  const img = document.createElement("img");
  img.alt = "";
  const caption = document.createElement("span");
  caption.textContent = `${item.width}×${item.height}`;
  label.append(box, img, caption);
  label.title = item.name;
  li.append(label);
  mediaUrl(item.url).then((url) => { img.src = url; }, () => {});
  return li;
}

async function loadPictures(justAdded = null) {
  const ticked = new Set(checkedPictures());
  if (justAdded) ticked.add(justAdded);
  try {
    const data = await api("/api/media?kind=image&limit=50");
    $("#pictures").replaceChildren(...data.media.map((m) => renderPicture(m, ticked.has(m.id))));
  } catch (error) {
    $("#err-manual_image_paths").textContent = error.message;
  }
}

function checkedPictures() {
  return [...document.querySelectorAll("#pictures input:checked")].map((box) => box.value);
}

async function uploadPicture(event) {
  const file = event.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  $("#err-manual_image_paths").textContent = "";
  $("#upload-status").textContent = "Uploading…";
  try {
    const added = await api("/api/media", { method: "POST", form });
    await loadPictures(added.id);
    $("#upload-status").textContent = `Uploaded and ticked: ${file.name}.`;
  } catch (error) {
    $("#upload-status").textContent = "";
    $("#err-manual_image_paths").textContent = error.message;
  }
  event.target.value = "";
}

function requestBody() {
  const value = (id) => $(`#${id}`).value;
  const characters = [...document.querySelectorAll("#characters .row")]
    .map((row) => ({
      name: $(".character-name", row).value.trim(),
      description: $(".character-description", row).value.trim(),
    }))
    .filter((c) => c.name || c.description);
  return {
    topic: value("topic").trim(),
    story_type: value("story_type"),
    image_style: value("image_style"),
    image_mode: value("image_mode"),
    voice_id: value("voice_id"),
    duration: Number(value("duration")),
    hook_intensity: value("hook_intensity"),
    pacing: value("pacing"),
    num_scenes: Number(value("num_scenes")),
    characters,
    manual_image_paths: checkedPictures(),
    stock_keywords: value("stock_keywords").split(",").map((w) => w.trim()).filter(Boolean),
    aspect_ratio: value("aspect_ratio"),
    music: $("#music").checked,
    subtitles: $("#subtitles").checked,
  };
}

function clearErrors() {
  for (const node of document.querySelectorAll("#generate .error")) node.textContent = "";
  for (const node of document.querySelectorAll("#generate [aria-invalid]")) {
    node.removeAttribute("aria-invalid");
  }
}

/** Each message next to the field it names (e.g. `characters[0].name`); the rest below. */
function showFieldErrors(error) {
  const errors = error.errors?.length ? error.errors : [error];
  const invalid = [];
  for (const { field, message } of errors) {
    const base = (field || "").split(/[.[]/)[0];
    const slot = FORM_FIELDS.includes(base) && $(`#err-${base}`);
    const text = field && field !== base && !message.startsWith(field) ? `${field}: ${message}` : message;
    const target = slot || $("#form-error");
    target.textContent = [target.textContent, text].filter(Boolean).join("\n");
    const control = slot && fieldControl(base, field);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      invalid.push(control);
    }
  }
  invalid.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  invalid[0]?.focus();
}

function fieldControl(base, field) {
  if (base === "characters") {
    const match = /^characters\[(\d+)\]\.?(\w*)/.exec(field);
    const row = match && $("#characters").children[Number(match[1])];
    if (row) return $(match[2] === "description" ? ".character-description" : ".character-name", row);
    return $("#add-character");
  }
  if (base === "manual_image_paths") return $("#picture-upload");
  return $(`#${base}`);
}

async function submitForm(event) {
  event.preventDefault();
  clearErrors();
  const body = requestBody();
  if (!body.topic) {
    showFieldErrors({ field: "topic", message: "Give the video a topic." });
    return;
  }
  const button = $("#submit");
  button.disabled = true;
  try {
    const started = await api("/api/generate-video", { method: "POST", json: body });
    await follow(started.job_id);
  } catch (error) {
    if (error instanceof ApiError && error.status < 500 && error.status !== 401) {
      showFieldErrors(error);
    } else if (!(error instanceof ApiError && error.status === 401)) {
      $("#form-error").textContent = error.message;
    }
  } finally {
    button.disabled = false;
  }
}

// ---- live progress ---------------------------------------------------------------------

let stream = null;
let current = null; // {id, lastEventId, best}

function closeStream() {
  if (stream) stream.close();
  stream = null;
}

function stageOf(data) {
  if (data.state === "queued") return "queued";
  if (data.status === "complete") return "done";
  const progress = Number(data.progress) || 0;
  return STAGES.find(([, , end]) => progress < end)[0];
}

function formatSeconds(total) {
  const seconds = Math.max(0, Math.round(total));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
}

function showProgress(data) {
  const progress = Math.max(current.best, Number(data.progress) || 0); // never backwards
  current.best = progress;
  const stage = stageOf(data);
  const names = { queued: "Queued", done: "Done", cancelled: "Cancelled" };
  const label = data.status === "cancelled" ? names.cancelled
    : names[stage] || STAGES.find(([id]) => id === stage)[1];
  $("#job-progress").value = progress;
  $("#job-progress").setAttribute("aria-valuetext", `${progress} percent, ${label}`);
  $("#job-percent").textContent = `${progress} %`;
  $("#job-stage").textContent = label;
  $("#job-substatus").textContent = data.substatus || "";
  const eta = data.eta_seconds;
  $("#job-eta").textContent = eta === null || eta === undefined || data.status !== "generating"
    ? "" : `· about ${formatSeconds(eta)} left`;
  const order = STAGES.map(([id]) => id);
  const at = stage === "done" ? order.length : order.indexOf(stage);
  for (const item of document.querySelectorAll(".stages li")) {
    const index = order.indexOf(item.dataset.stage);
    item.classList.toggle("done", index < at);
    item.classList.toggle("current", index === at);
    if (index === at) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
}

async function follow(jobId) {
  closeStream();
  current = { id: jobId, lastEventId: "", best: 0 };
  $("#job").hidden = false;
  $("#job").dataset.jobId = jobId;
  $("#job-error").textContent = "";
  $("#cancel").disabled = false;
  $("#cancel").hidden = false;
  showProgress({ state: "queued", status: "generating", progress: 0, substatus: "Waiting to start" });
  $("#job-title").focus();
  loadLibrary(); // the new video shows as processing
  await openStream(jobId);
}

async function openStream(jobId) {
  const resume = current.lastEventId ? `lastEventId=${encodeURIComponent(current.lastEventId)}` : "";
  let url = await mediaUrl(`/api/jobs/${encodeURIComponent(jobId)}/events`);
  if (resume) url += `${url.includes("?") ? "&" : "?"}${resume}`;
  const source = new EventSource(url);
  stream = source;
  const handle = (kind) => (message) => {
    if (current?.id !== jobId) return;
    current.lastEventId = message.lastEventId || current.lastEventId;
    const data = JSON.parse(message.data);
    showProgress(data);
    if (FINAL_EVENTS.includes(kind)) {
      source.close();
      finished(data);
    }
  };
  for (const kind of ["progress", ...FINAL_EVENTS]) source.addEventListener(kind, handle(kind));
  source.onerror = () => {
    // The browser retries by itself; a refused reconnect (e.g. an expired media token) closes.
    if (source.readyState === EventSource.CLOSED && stream === source && current?.id === jobId) {
      media = null;
      setTimeout(() => openStream(jobId).catch(() => {}), 1000);
    }
  };
}

async function finished(data) {
  $("#cancel").hidden = true;
  if (data.status === "complete") {
    await play({ video_url: data.video_url, thumbnail_url: data.thumbnail_url });
  } else {
    $("#job-error").textContent = data.error || "The job stopped.";
  }
  await loadLibrary();
}

async function cancelJob() {
  if (!current) return;
  $("#cancel").disabled = true;
  try {
    await api(`/api/jobs/${encodeURIComponent(current.id)}/cancel`, { method: "POST" });
    $("#job-substatus").textContent = "Cancelling…";
  } catch (error) {
    $("#job-error").textContent = error.message;
  }
}

// ---- player and library ----------------------------------------------------------------

async function play(video) {
  const player = $("#player");
  const [src, poster] = await Promise.all([
    mediaUrl(video.video_url), video.thumbnail_url ? mediaUrl(video.thumbnail_url) : "",
  ]);
  player.poster = poster;
  player.src = src;
  $("#download").href = src;
  $("#player-title").textContent = video.title ? `Your video: ${video.title}` : "Your video";
  $("#player-card").hidden = false;
  $("#player-title").focus();
}

function formatDuration(seconds) {
  return seconds ? formatSeconds(seconds) : "";
}

function renderVideo(video) {
  const card = $("#library-card").content.firstElementChild.cloneNode(true);
  card.dataset.id = video.id;
  $(".video-title", card).textContent = video.title || video.topic || "Untitled";
  $(".badge", card).textContent = video.status;
  $(".badge", card).dataset.status = video.status;
  $(".video-duration", card).textContent = formatDuration(video.duration);
  const img = $("img", card);
  if (video.thumbnail_url) mediaUrl(video.thumbnail_url).then((url) => { img.src = url; }, () => {});
  else img.remove();
  const playButton = $(".play", card);
  playButton.setAttribute("aria-label", `Play ${$(".video-title", card).textContent}`);
  playButton.disabled = !video.video_url;
  playButton.addEventListener("click", () => play(video));
  const remove = $(".delete", card);
  remove.setAttribute("aria-label", `Delete ${$(".video-title", card).textContent}`);
  remove.addEventListener("click", () => deleteVideo(video, card));
  return card;
}

async function loadLibrary() {
  $("#library-error").textContent = "";
  try {
    const data = await api("/api/videos?limit=24");
    $("#library").replaceChildren(...data.videos.map(renderVideo));
    $("#library-empty").hidden = data.videos.length > 0;
  } catch (error) {
    $("#library-error").textContent = error.message;
  }
}

async function deleteVideo(video, card) {
  const title = $(".video-title", card).textContent;
  if (!window.confirm(`Delete “${title}”? This removes the video file too.`)) return;
  try {
    await api(`/api/videos/${encodeURIComponent(video.id)}`, { method: "DELETE" });
    card.remove();
    $("#library-empty").hidden = $("#library").children.length > 0;
    if ($("#player").src.includes(video.video_url)) {
      $("#player").removeAttribute("src");
      $("#player").load();
      $("#player-card").hidden = true;
    }
    say(`Deleted “${title}”.`);
    $("#library-refresh").focus();
  } catch (error) {
    $("#library-error").textContent = error.message;
  }
}

// ---- start -----------------------------------------------------------------------------

async function start() {
  $("#generate").addEventListener("submit", submitForm);
  $("#add-character").addEventListener("click", addCharacter);
  $("#voice_id").addEventListener("change", describeVoice);
  $("#voice-preview").addEventListener("click", previewVoice);
  $("#picture-upload").addEventListener("change", uploadPicture);
  $("#cancel").addEventListener("click", cancelJob);
  $("#library-refresh").addEventListener("click", loadLibrary);
  $("#auth-form").addEventListener("submit", submitLogin);
  $("#auth-switch").addEventListener("click", () => setAuthMode(!registering));
  $("#logout").addEventListener("click", logout);
  try {
    await loadChoices(); // public in every auth mode, so a login page already has them
    // The page says the server's mode: with no stored login, a required-mode server's
    // /api/auth/me can only answer 401, which every browser logs as a console error.
    const required = document.body.dataset.authMode === "required";
    const user = required && !store.access && !store.refresh ? null : await whoAmI();
    authRequired = !user || !user.local;
    if (user) await enter(user);
    else showLogin();
    document.body.dataset.ready = "true";
  } catch (error) {
    say(`Could not reach the server: ${error.message}`);
  }
}

start();
