// The consultation room: camera, RTCPeerConnection and the signalling socket (protocol v1,
// described in README.md). The doctor always makes the offer, so the two sides never offer
// at the same time; whoever reconnects gets the room state and the doctor calls again.
(() => {
  "use strict";
  const cfg = JSON.parse(document.getElementById("room-config").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const FINAL_CLOSE_CODES = new Set([1000, 4401, 4403, 4404, 4408, 4409, 4410]);
  // Every word the room shows, translated by the page (consult.pages.room_labels).
  const t = (key, values = {}) => (cfg.labels[key] || key).replace(/%\((\w+)\)s/g, (_, name) => values[name] ?? "");
  const CLOSE_REASONS = {
    1000: t("ended"), 4401: t("loginAgain"), 4403: t("notParticipant"), 4404: t("noSuchConsultation"),
    4408: t("tooEarly"), 4409: t("bookingInactive"), 4410: t("ended"), 4503: t("signallingDown"),
  };
  const roleName = (role) => cfg.labels.roles[role] || role;
  // Exposed for the end-to-end test and for debugging in the browser console.
  const room = (window.consult = { pc: null, ws: null, admitted: false, ended: false, present: [], connectionState: "new", framesReceived: 0, log: [] });
  let iceServers = [];
  let localStream = null;
  let pending = [];

  async function api(path, options = {}) {
    const response = await fetch(path, {
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      ...options,
    });
    const body = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error((body && body.errors && body.errors[0].detail) || JSON.stringify(body));
    return body;
  }

  function setStatus(text) { $("status").textContent = text; }
  function others() { return room.present.filter((p) => p.user_id !== cfg.userId); }
  function familyPresent() { return room.present.some((p) => p.role !== "doctor"); }

  function render() {
    $("presence").textContent = t("inRoom", { names: room.present.map((p) => `${p.name} (${roleName(p.role)})`).join(", ") });
    if (cfg.role === "doctor") {
      $("admit").disabled = room.admitted || room.ended || !familyPresent();
      $("end").disabled = !room.admitted || room.ended;
    }
    if (room.ended) return setStatus(t("ended"));
    if (room.connectionState === "connected") return setStatus(t("connected"));
    if (!room.admitted) {
      return setStatus(cfg.role === "doctor" ? (familyPresent() ? t("patientWaiting") : t("waitingForPatient")) : t("waitingRoom"));
    }
    setStatus(room.connectionState === "new" ? t("connecting") : t("call", { state: room.connectionState }));
  }

  function send(message) {
    if (room.ws && room.ws.readyState === WebSocket.OPEN) room.ws.send(JSON.stringify({ v: 1, ...message }));
  }

  function countFrames(video) {
    if (!("requestVideoFrameCallback" in video)) return;
    const tick = () => { room.framesReceived += 1; video.requestVideoFrameCallback(tick); };
    video.requestVideoFrameCallback(tick);
  }

  function closePeer() {
    if (room.pc) room.pc.close();
    room.pc = null;
    pending = [];
    room.connectionState = "new";
    $("remote").srcObject = null;
  }

  function newPeer() {
    closePeer();
    const pc = new RTCPeerConnection({ iceServers });
    room.pc = pc;
    if (localStream) localStream.getTracks().forEach((track) => pc.addTrack(track, localStream));
    pc.onicecandidate = (event) => send({ type: "ice", candidate: event.candidate ? event.candidate.toJSON() : null });
    pc.ontrack = (event) => {
      const video = $("remote");
      if (video.srcObject !== event.streams[0]) { video.srcObject = event.streams[0]; countFrames(video); }
    };
    pc.onconnectionstatechange = () => {
      room.connectionState = pc.connectionState;
      room.log.push(`pc ${pc.connectionState}`);
      render();
    };
    return pc;
  }

  async function call(restart) {
    const pc = newPeer();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send({ type: "offer", sdp: offer.sdp, restart: Boolean(restart) });
  }

  async function flush() {
    for (const candidate of pending) await room.pc.addIceCandidate(candidate);
    pending = [];
  }

  const handlers = {
    async state(m) {
      room.present = m.present; room.admitted = m.admitted;
      if (cfg.role === "doctor" && m.admitted && familyPresent()) await call(true);
    },
    async presence(m) {
      room.present = m.present;
      if (m.event === "joined" && cfg.role === "doctor" && room.admitted && m.who.role !== "doctor") await call(true);
      if (m.event === "left" && (m.who.role === "doctor" || cfg.role === "doctor") && !others().length) closePeer();
    },
    async admitted() {
      room.admitted = true;
      if (cfg.role === "doctor" && familyPresent()) await call(false);
    },
    async offer(m) {
      const pc = newPeer();
      await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
      await flush();
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      send({ type: "answer", sdp: answer.sdp });
    },
    async answer(m) {
      if (!room.pc) return;
      await room.pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
      await flush();
    },
    async ice(m) {
      if (!m.candidate) return;
      if (room.pc && room.pc.remoteDescription) await room.pc.addIceCandidate(m.candidate);
      else pending.push(m.candidate);
    },
    async hangup() { closePeer(); },
    async chat(m) { showChat(m.from.name, m.from.role, m.text); },
    async ended() {
      room.ended = true; closePeer();
      if (localStream) localStream.getTracks().forEach((track) => track.stop());
    },
    async error(m) {
      room.log.push(`error ${m.code}: ${m.message}`); setStatus(`${m.message}`);
      // 互联网诊疗监管细则（试行）: the doctor proves it is them (a code) and the admission is sent again.
      if (m.code === "second_factor_required" && $("second-factor")) {
        $("second-factor").hidden = false;
        document.body.dispatchEvent(new CustomEvent("second-factor-needed"));
      }
    },
    async pong() {},
  };

  // The doctor's chart (an htmx fragment) loads once the room has settled: after the chat
  // history and the socket's first word, or after a few seconds whatever happens, so its
  // access-log write does not race the room's own.
  let roomReady = false;
  function announceReady() {
    if (roomReady) return;
    roomReady = true;
    document.body.dispatchEvent(new Event("room-ready"));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/consultations/${cfg.consultationId}/`);
    room.ws = ws;
    ws.onmessage = async (event) => {
      const message = JSON.parse(event.data);
      setTimeout(announceReady, 200);
      room.log.push(`in ${message.type}`);
      try { await (handlers[message.type] || (() => {}))(message); } catch (err) { room.log.push(`handler ${message.type}: ${err}`); }
      render();
      // Other scripts of the room (recording.js) hear every message too.
      document.dispatchEvent(new CustomEvent("room-message", { detail: message }));
    };
    ws.onclose = (event) => {
      announceReady();
      if (room.ws !== ws) return;
      if (FINAL_CLOSE_CODES.has(event.code) || room.ended) {
        if (event.code === 1000 || event.code === 4410) room.ended = true;
        setStatus(CLOSE_REASONS[event.code] || t("disconnected", { code: event.code }));
        render();
        return;
      }
      setStatus(CLOSE_REASONS[event.code] || t("reconnecting"));
      setTimeout(connect, 2000);
    };
  }

  function showChat(name, role, text) {
    const line = document.createElement("div");
    const who = document.createElement("strong");
    who.textContent = `${name} (${roleName(role)}): `;
    line.append(who, document.createTextNode(text));
    $("chat-log").append(line);
    $("chat-log").scrollTop = $("chat-log").scrollHeight;
  }

  // A diagnosis picked from the ICD-10 search (an htmx fragment) becomes a line of the
  // diagnosis box, once.
  function pickDiagnosis(event) {
    const button = event.target.closest(".icd10-pick");
    if (!button) return;
    const box = $("diagnosis-lines");
    const lines = box.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (!lines.some((l) => l.split(/\s+/)[0].toUpperCase() === button.dataset.code)) lines.push(`${button.dataset.code} ${button.dataset.name}`);
    box.value = lines.join("\n") + "\n";
    $("icd10-results").replaceChildren();
    $("icd10-q").value = "";
    box.focus();
  }

  async function saveNotes(event) {
    event.preventDefault();
    const form = new FormData($("notes-form"));
    const diagnosis = String(form.get("diagnosis") || "").split("\n").map((l) => l.trim()).filter(Boolean)
      .map((line) => { const [code, ...name] = line.split(/\s+/); return { code, name: name.join(" ") }; });
    const body = { chief_complaint: form.get("chief_complaint"), notes: form.get("notes") };
    if (diagnosis.length) body.diagnosis = diagnosis;
    try {
      await api(`/api/consultations/${cfg.consultationId}/`, { method: "PATCH", body: JSON.stringify(body) });
      $("notes-status").textContent = t("saved");
    } catch (err) { $("notes-status").textContent = err.message; }
  }

  async function start() {
    setTimeout(announceReady, 5000);
    try { iceServers = (await api(`/api/consultations/${cfg.consultationId}/ice-servers/`)).ice_servers; } catch (err) { room.log.push(`ice ${err}`); }
    try {
      localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      $("local").srcObject = localStream;
    } catch (err) {
      setStatus(t("noCamera", { error: err.message }));
    }
    const history = await api(`/api/consultations/${cfg.consultationId}/messages/?page_size=100`);
    history.results.forEach((m) => showChat(m.sender, m.role, m.text));
    connect();
    if (cfg.role === "doctor") {
      // A young child: the doctor's confirmation that a guardian is present goes with the admission.
      const admit = () => send({ type: "admit", guardian_present: Boolean($("guardian-present") && $("guardian-present").checked) });
      $("admit").onclick = admit;
      document.body.addEventListener("second-factor-verified", admit);
      $("end").onclick = () => { if (confirm(t("confirmEnd"))) send({ type: "end" }); };
      $("notes-form").onsubmit = saveNotes;
      $("icd10-results").addEventListener("click", pickDiagnosis);
      $("icd10-q").addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
    }
    $("hangup").onclick = () => { send({ type: "hangup" }); closePeer(); render(); };
    $("redial").onclick = () => { if (cfg.role === "doctor" && room.admitted) call(true); else send({ type: "ping" }); };
    $("chat-form").onsubmit = (event) => {
      event.preventDefault();
      const text = $("chat-text").value.trim();
      if (text) send({ type: "chat", text });
      $("chat-text").value = "";
    };
  }

  start();
})();
