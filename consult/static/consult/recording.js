// Recording the consultation in the doctor's browser, once both sides have consented
// (consult/recording.py holds the rules). One WebM file holds both sides: a canvas draws the
// patient's video with the doctor's own in a corner, and WebAudio mixes both voices into one
// track. MediaRecorder hands over a piece every few seconds; each is uploaded in order with
// its number and SHA-256 (a retried piece is accepted once), and "complete" closes the file.
// Every word comes from the page (consult.recording_pages.recording_labels).
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("room-config").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const TIMESLICE_MS = 2000;
  const FRAME_MS = 66; // about 15 frames a second
  const UPLOAD_ATTEMPTS = 5;
  const state = (window.consultRecording = { both: false, status: "", recordingId: null, chunksSent: 0, uploaded: 0, error: "" });
  let recorder = null, audio = null, drawTimer = null, queue = Promise.resolve(), startedAt = 0, finishing = null, starting = false;

  function t(key, values = {}) {
    const node = $("recording-labels");
    const labels = node ? JSON.parse(node.textContent) : {};
    return (labels[key] || key).replace(/%\((\w+)\)s/g, (_, name) => values[name] ?? "");
  }
  function say(key, values) { const node = $("recording-status"); if (node) node.textContent = t(key, values); }
  function changed() { document.body.dispatchEvent(new Event("recording-changed")); }

  async function request(path, options = {}, attempts = 1) {
    for (let attempt = 1; ; attempt += 1) {
      let response;
      try {
        response = await fetch(path, { credentials: "same-origin", ...options, headers: { "X-CSRFToken": csrf, ...(options.headers || {}) } });
      } catch (err) {
        if (attempt >= attempts) throw err;
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
        continue;
      }
      const body = response.status === 204 ? null : await response.json().catch(() => null);
      if (response.ok) return body;
      const detail = (body && body.errors && body.errors[0].detail) || `HTTP ${response.status}`;
      if (response.status < 500 || attempt >= attempts) throw new Error(detail);
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
    }
  }

  async function sha256(blob) {
    const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function upload(seq, blob) {
    state.chunksSent = seq + 1;
    queue = queue.then(async () => {
      const form = new FormData();
      form.append("data", blob, `chunk-${seq}.webm`);
      form.append("sha256", await sha256(blob));
      await request(`/api/recordings/${state.recordingId}/chunks/${seq}/`, { method: "PUT", body: form }, UPLOAD_ATTEMPTS);
      state.uploaded = seq + 1;
    });
    queue.catch((err) => { state.error = err.message; say("failed", { error: err.message }); });
  }

  // The composite picture: the patient full size, the doctor in the lower right corner.
  function canvasStream() {
    const canvas = document.createElement("canvas");
    const remote = $("remote"), local = $("local");
    canvas.width = remote.videoWidth || 640;
    canvas.height = remote.videoHeight || 480;
    const g = canvas.getContext("2d");
    drawTimer = setInterval(() => {
      g.fillStyle = "#000";
      g.fillRect(0, 0, canvas.width, canvas.height);
      if (remote.videoWidth) g.drawImage(remote, 0, 0, canvas.width, canvas.height);
      if (local.videoWidth) {
        const w = canvas.width / 4, h = (w * local.videoHeight) / local.videoWidth;
        g.drawImage(local, canvas.width - w - 8, canvas.height - h - 8, w, h);
      }
      mixRemote();
    }, FRAME_MS);
    return canvas.captureStream(15);
  }

  // Both voices in one track; the remote stream is re-attached when a reconnect replaces it.
  function mixer() {
    const context = new AudioContext();
    const destination = context.createMediaStreamDestination();
    audio = { context, destination, remote: null, remoteSource: null };
    const local = $("local").srcObject;
    if (local && local.getAudioTracks().length) context.createMediaStreamSource(local).connect(destination);
    mixRemote();
    context.resume().catch(() => {});
    return destination.stream;
  }
  function mixRemote() {
    const remote = $("remote").srcObject;
    if (!audio || !remote || remote === audio.remote || !remote.getAudioTracks().length) return;
    if (audio.remoteSource) audio.remoteSource.disconnect();
    audio.remote = remote;
    audio.remoteSource = audio.context.createMediaStreamSource(remote);
    audio.remoteSource.connect(audio.destination);
  }

  function mimeType() {
    return ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"].find((type) => MediaRecorder.isTypeSupported(type));
  }

  async function start() {
    const type = window.MediaRecorder && mimeType();
    if (!type) { say("unsupported"); return; }
    starting = true;
    try {
      const recording = await request(`/api/consultations/${cfg.consultationId}/recordings/`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mime_type: type }),
      });
      state.recordingId = recording.id;
    } catch (err) { starting = false; state.error = err.message; say("failed", { error: err.message }); return; }
    const stream = new MediaStream([...canvasStream().getVideoTracks(), ...mixer().getAudioTracks()]);
    recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 1_000_000 });
    let seq = 0;
    recorder.ondataavailable = (event) => { if (event.data && event.data.size) upload(seq++, event.data); };
    recorder.start(TIMESLICE_MS);
    startedAt = Date.now();
    state.status = "recording";
    starting = false;
    say("recording");
  }

  // Stop, send what is left, close the file. Safe to call more than once.
  function finish() {
    if (!recorder) return Promise.resolve();
    if (finishing) return finishing;
    finishing = new Promise((resolve) => {
      recorder.onstop = resolve;
      recorder.stop();
    }).then(async () => {
      clearInterval(drawTimer);
      if (audio) audio.context.close().catch(() => {});
      say("saving");
      await queue;
      await request(`/api/recordings/${state.recordingId}/complete/`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ chunks: state.chunksSent, duration_ms: Date.now() - startedAt }),
      }, UPLOAD_ATTEMPTS);
      state.status = "complete";
      say("saved");
      changed();
    }).catch((err) => { state.error = err.message; say("failed", { error: err.message }); });
    return finishing;
  }
  state.finish = finish;

  function apply(message) {
    state.both = message.both_consented;
    if (message.both_consented && !recorder && cfg.role === "doctor") say("starting");
    changed();
  }

  // A refused consent (400/409) comes back as the panel with its message; htmx would drop it.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if ([400, 409].includes(event.detail.xhr.status) && event.detail.elt.closest("#recording")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The room's socket messages (room.js passes each on): consent changes, and the end.
  document.addEventListener("room-message", (event) => {
    const message = event.detail;
    if (message.type === "recording") apply(message);
    if (message.type === "state") changed();
    if (message.type === "ended") finish();
  });

  // The panel is rendered by the server with the consents as they stand. Reading it too means a
  // consent broadcast sent before this page's socket had joined the room is not missed.
  function fromPanel() {
    const doctor = $("recording-consent-doctor"), family = $("recording-consent-family");
    if (doctor && family) state.both = doctor.dataset.consented === "true" && family.dataset.consented === "true";
  }

  if (cfg.role !== "doctor") return;
  request(`/api/consultations/${cfg.consultationId}/recording-consent/`).then((s) => { state.both = s.both_consented; }).catch(() => {});
  // Record once both have consented and the call is up; stop with the call's end.
  setInterval(() => {
    const room = window.consult || {};
    if (room.ended) { finish(); return; }
    if (!state.both) fromPanel();
    const remote = $("remote").srcObject;
    if (state.both && !recorder && !starting && room.connectionState === "connected" && remote && remote.getTracks().length) start();
  }, 1000);
  // Ending the visit with the form leaves the page: save the recording first.
  for (const id of ["end-visit-form", "refer-offline-form"]) {
    const form = $(id);
    if (!form) continue;
    form.addEventListener("submit", (event) => {
      if (!recorder || state.status === "complete") return;
      event.preventDefault();
      finish().then(() => form.submit());
    });
  }
  window.addEventListener("pagehide", () => { if (recorder && recorder.state === "recording") recorder.requestData(); });
})();
