// The clip review page: player, custom timeline (markers, waveform, storyboard previews),
// comment list with filters, composer, keyboard shortcuts. Plain ES2017, no framework.
// CSP: no inline styles in markup; positions and sprites are set through the CSSOM.
(function () {
  "use strict";

  var root = document.getElementById("review");
  var video = document.getElementById("player");
  if (!root || !video) return;

  var KINDS = {
    strength: "Strength",
    question: "Question",
    suggestion: "Suggestion",
    note: "Note"
  };
  var FRAME = 1 / 30;
  var UNKNOWN_TIME = "\u2013:\u2013"; // –:–
  var POINT_SPAN = 3; // a point comment counts as "under the playhead" for this many seconds

  var $ = function (id) { return document.getElementById(id); };
  var me = root.dataset.me;
  var commentsUrl = root.dataset.commentsUrl;
  var commentUrl = function (id) { return root.dataset.commentUrl.replace("COMMENT_ID", encodeURIComponent(id)); };
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  var timeline = $("timeline");
  var markersBox = $("timeline-markers");
  var played = $("timeline-played");
  var playhead = $("timeline-playhead");
  var selection = $("timeline-selection");
  var preview = $("storyboard-preview");
  var previewThumb = $("storyboard-thumb");
  var previewTime = $("storyboard-time");
  var canvas = $("waveform");
  var list = $("comment-list");
  var body = $("composer-body");
  var stampLabel = $("composer-stamp");
  var clearRangeButton = $("clear-range");
  var composerError = $("composer-error");
  var announceBox = $("review-announce");
  var playButton = $("play-toggle");
  var muteButton = $("mute-toggle");
  var timeDisplay = $("time-display");
  var help = $("shortcuts-help");

  var goals = [];
  try { goals = JSON.parse($("goals-data").textContent) || []; } catch (e) { goals = []; }
  var goalsById = {};
  goals.forEach(function (g) { goalsById[g.id] = g; });

  // ---------- state ----------
  var comments = [];        // all loaded comments, as the API returns them
  var byId = {};            // id -> comment
  var sorted = [];          // top-level comments (and orphans) sorted by t_start
  var itemById = {};        // id -> <li>
  var markerById = {};      // id -> marker element
  var activeId = null;
  var maxSpan = POINT_SPAN;
  var stamp = { start: null, end: null }; // composer's moment; start === null: not stamped yet
  var replyTo = null;
  var waveform = null;
  var storyboard = [];

  // ---------- helpers ----------
  function fmt(seconds) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    var s = Math.floor(seconds + 1e-6);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(sec).padStart(2, "0");
  }
  function fmtRange(start, end) {
    return end === null || end === undefined ? fmt(start) : fmt(start) + "–" + fmt(end);
  }
  // The clip's length once the video or the server knows it, else null (not probed yet).
  function knownDuration() {
    if (isFinite(video.duration) && video.duration > 0) return video.duration;
    var d = parseFloat(root.dataset.duration);
    return d > 0 ? d : null;
  }
  // A length to lay the timeline out on, known or not.
  function duration() {
    var known = knownDuration();
    if (known) return known;
    var last = 0;
    comments.forEach(function (c) { last = Math.max(last, c.t_end || c.t_start); });
    return last || 1;
  }
  function pct(t) { return Math.max(0, Math.min(100, (t / duration()) * 100)); }
  function announce(text) {
    announceBox.textContent = "";
    window.setTimeout(function () { announceBox.textContent = text; }, 30);
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function api(method, url, payload) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf }
    };
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var message = (data && data.error && data.error.message) || "Something went wrong (" + response.status + ").";
          throw new Error(message);
        }
        return data;
      });
    });
  }
  // A seek asked for before the video's metadata is loaded (a link to a moment, a clip still
  // being processed) is made as soon as it is.
  var pendingSeek = null;
  function seek(t) {
    var d = knownDuration();
    t = Math.max(0, d ? Math.min(d, t) : t);
    if (video.readyState < 1) {
      pendingSeek = t;
    } else {
      pendingSeek = null;
      try { video.currentTime = t; } catch (e) { /* not seekable */ }
    }
    updatePlayhead(t);
  }
  video.addEventListener("loadedmetadata", function () {
    if (pendingSeek !== null) seek(pendingSeek);
  });

  // ---------- player controls ----------
  function updatePlayButton() {
    playButton.textContent = video.paused ? "Play" : "Pause";
    playButton.setAttribute("aria-pressed", video.paused ? "false" : "true");
  }
  function togglePlay() {
    if (video.paused) {
      var p = video.play();
      if (p && p.catch) p.catch(function () {});
    } else {
      video.pause();
    }
  }
  playButton.addEventListener("click", togglePlay);
  video.addEventListener("click", togglePlay);
  video.addEventListener("play", updatePlayButton);
  // The uploader's "who watched": the page's first play is reported once (the server counts
  // each person once a day and ignores the uploader's own plays). A failure costs nothing.
  if (root.dataset.playsUrl) {
    video.addEventListener("play", function () {
      api("POST", root.dataset.playsUrl).catch(function () { /* not worth troubling anyone */ });
    }, { once: true });
  }
  video.addEventListener("pause", updatePlayButton);
  muteButton.addEventListener("click", function () {
    video.muted = !video.muted;
    muteButton.textContent = video.muted ? "Unmute" : "Mute";
  });
  $("speed").addEventListener("change", function (event) {
    video.playbackRate = parseFloat(event.target.value) || 1;
  });
  video.addEventListener("ratechange", function () {
    var select = $("speed");
    if (parseFloat(select.value) !== video.playbackRate) select.value = String(video.playbackRate);
  });

  function updatePlayhead(t) {
    if (t === undefined) t = pendingSeek !== null ? pendingSeek : video.currentTime;
    var p = pct(t) + "%";
    played.style.width = p;
    playhead.style.left = p;
    timeline.setAttribute("aria-valuenow", String(Math.round(t * 10) / 10));
    // Until the clip has been probed its length is unknown: say so, not "0:00 / 0:01".
    var known = knownDuration();
    timeline.setAttribute("aria-valuetext", known ? fmt(t) + " of " + fmt(known) : "Length not known yet");
    timeDisplay.textContent = known ? fmt(t) + " / " + fmt(known) : UNKNOWN_TIME;
    updateActive(t);
  }
  video.addEventListener("timeupdate", function () { updatePlayhead(); });
  video.addEventListener("seeked", function () { updatePlayhead(); });
  function lengthChanged() {
    timeline.setAttribute("aria-valuemax", String(Math.round(duration() * 10) / 10));
    layoutMarkers();
    drawWaveform();
    updatePlayhead();
    showStamp();
    var known = knownDuration();
    var length = $("clip-length");
    if (known && length && length.hidden) {
      length.textContent = fmt(known);
      length.hidden = false;
      $("clip-length-term").hidden = false;
    }
  }
  video.addEventListener("durationchange", lengthChanged);

  // ---------- timeline: seek, drag, shift-drag range, hover preview ----------
  function timeAt(clientX) {
    var rect = timeline.getBoundingClientRect();
    var x = Math.max(0, Math.min(rect.width, clientX - rect.left));
    return rect.width ? (x / rect.width) * duration() : 0;
  }
  var drag = null;
  timeline.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    event.preventDefault();
    timeline.focus();
    var t = timeAt(event.clientX);
    var marker = event.target.closest && event.target.closest(".marker");
    if (marker && !event.shiftKey) {
      var c = byId[marker.dataset.id];
      if (c) { seek(c.t_start); focusItem(c.id, false); return; }
    }
    drag = { range: event.shiftKey, from: t };
    try { timeline.setPointerCapture(event.pointerId); } catch (e) { /* synthetic events */ }
    if (drag.range) {
      video.pause();
      setStamp(t, null);
    } else {
      seek(t);
    }
  });
  timeline.addEventListener("pointermove", function (event) {
    var t = timeAt(event.clientX);
    showPreview(event.clientX, t);
    if (!drag) return;
    if (drag.range) {
      var a = Math.min(drag.from, t);
      var b = Math.max(drag.from, t);
      setStamp(a, b - a >= 0.05 ? b : null);
    } else {
      seek(t);
    }
  });
  function endDrag(event) {
    if (!drag) return;
    var wasRange = drag.range;
    drag = null;
    try { timeline.releasePointerCapture(event.pointerId); } catch (e) { /* ignore */ }
    if (wasRange) body.focus();
  }
  timeline.addEventListener("pointerup", endDrag);
  timeline.addEventListener("pointercancel", endDrag);
  timeline.addEventListener("pointerleave", function () { if (!drag) preview.hidden = true; });
  timeline.addEventListener("keydown", function (event) {
    var step = { ArrowLeft: -5, ArrowRight: 5, PageDown: -30, PageUp: 30 }[event.key];
    if (step) { event.preventDefault(); event.stopPropagation(); seek(video.currentTime + step); }
    else if (event.key === "Home") { event.preventDefault(); seek(0); }
    else if (event.key === "End") { event.preventDefault(); seek(duration()); }
  });

  // ---------- storyboard previews ----------
  function parseVttTime(text) {
    var parts = text.trim().split(":");
    var seconds = 0;
    for (var i = 0; i < parts.length; i++) seconds = seconds * 60 + parseFloat(parts[i]);
    return seconds;
  }
  function parseStoryboard(text, base) {
    var cues = [];
    var lines = text.replace(/\r\n?/g, "\n").split("\n");
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.indexOf("-->") < 0) continue;
      var times = line.split("-->");
      var target = (lines[i + 1] || "").trim();
      var match = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(target);
      if (!match) continue;
      cues.push({
        start: parseVttTime(times[0]),
        end: parseVttTime(times[1].trim().split(/\s+/)[0]),
        url: new URL(match[1], base).href,
        x: +match[2], y: +match[3], w: +match[4], h: +match[5]
      });
    }
    return cues;
  }
  function cueAt(t) {
    var lo = 0, hi = storyboard.length - 1, found = null;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (storyboard[mid].start <= t) { found = storyboard[mid]; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found || storyboard[0];
  }
  function showPreview(clientX, t) {
    previewTime.textContent = fmt(t);
    var cue = storyboard.length ? cueAt(t) : null;
    if (cue) {
      previewThumb.hidden = false;
      previewThumb.style.width = cue.w + "px";
      previewThumb.style.height = cue.h + "px";
      previewThumb.style.backgroundImage = "url(" + JSON.stringify(cue.url) + ")";
      previewThumb.style.backgroundPosition = -cue.x + "px " + -cue.y + "px";
    } else {
      previewThumb.hidden = true;
    }
    preview.hidden = false;
    var rect = timeline.getBoundingClientRect();
    var half = (cue ? cue.w : 40) / 2;
    var x = Math.max(half, Math.min(rect.width - half, clientX - rect.left));
    preview.style.left = x + "px";
  }
  function loadStoryboard(url) {
    root.dataset.storyboard = url;
    var vttUrl = new URL(url, window.location.href).href;
    fetch(vttUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (text) {
        storyboard = parseStoryboard(text, vttUrl);
        if (storyboard[0]) new Image().src = storyboard[0].url; // warm the cache
      })
      .catch(function () {});
  }
  if (root.dataset.storyboard) loadStoryboard(root.dataset.storyboard);

  // ---------- waveform ----------
  function drawWaveform() {
    if (!waveform || !canvas.getContext) return;
    var ratio = window.devicePixelRatio || 1;
    var width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    var height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    var data = waveform.data || [];
    var pps = waveform.peaks_per_second || 10;
    if (!data.length) return;
    var total = Math.max(duration(), data.length / pps);
    ctx.fillStyle = "#8a94a3";
    var mid = height / 2;
    for (var x = 0; x < width; x++) {
      var from = Math.floor(((x / width) * total) * pps);
      var to = Math.max(from + 1, Math.floor((((x + 1) / width) * total) * pps));
      var peak = 0;
      for (var i = from; i < to && i < data.length; i++) if (data[i] > peak) peak = data[i];
      var h = Math.max(1, (peak / 100) * (height - 2));
      ctx.fillRect(x, mid - h / 2, 1, h);
    }
  }
  function loadWaveform(url) {
    root.dataset.waveform = url;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { waveform = data; drawWaveform(); })
      .catch(function () {});
  }
  if (root.dataset.waveform) loadWaveform(root.dataset.waveform);
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(drawWaveform, 100);
  });

  // ---------- goals ----------
  var goalList = $("composer-goal-list");
  var goalFilter = $("filter-goal");
  function addGoalCheckbox(goal, checked) {
    var label = el("label", "check");
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = "goal_ids";
    box.value = goal.id;
    box.checked = !!checked;
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + goal.title));
    goalList.appendChild(label);
  }
  function addGoalOption(goal) {
    var option = el("option", "", goal.title + (goal.status && goal.status !== "active" ? " (" + goal.status + ")" : ""));
    option.value = goal.id;
    goalFilter.appendChild(option);
  }
  goals.forEach(function (goal) {
    if (goal.status === "active") addGoalCheckbox(goal, false);
    addGoalOption(goal);
  });
  function addGoal() {
    var input = $("new-goal-title");
    var title = input.value.trim();
    if (!title) { input.focus(); return; }
    api("POST", root.dataset.goalsUrl, { title: title })
      .then(function (data) {
        var goal = { id: data.goal.id, title: data.goal.title, status: data.goal.status };
        goals.push(goal);
        goalsById[goal.id] = goal;
        addGoalCheckbox(goal, true);
        addGoalOption(goal);
        input.value = "";
        announce("Goal “" + goal.title + "” added and ticked.");
      })
      .catch(function (error) { showError(error.message); });
  }
  $("add-goal").addEventListener("click", addGoal);
  $("new-goal-title").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); addGoal(); }
  });

  // ---------- comment list ----------
  function kindBadge(kind) {
    var badge = el("span", "kind kind-" + kind);
    badge.appendChild(el("span", "shape is-" + kind));
    badge.lastChild.setAttribute("aria-hidden", "true");
    badge.appendChild(document.createTextNode(KINDS[kind] || kind));
    return badge;
  }
  function resolvedLabel(c) {
    if (!c.resolved_by) return "Resolved";
    return "Resolved by " + (c.resolved_by.id === me ? "you" : c.resolved_by.name);
  }
  function renderItem(c, isReply) {
    var li = el("li", "comment is-" + c.kind + (isReply ? " reply" : "") + (c.resolved ? " resolved" : ""));
    li.dataset.id = c.id;
    var head = el("div", "comment-head");
    var time = el("button", "comment-time link", fmtRange(c.t_start, c.t_end));
    time.type = "button";
    time.dataset.action = "seek";
    time.setAttribute("aria-label", "Play from " + fmtRange(c.t_start, c.t_end));
    head.appendChild(time);
    head.appendChild(kindBadge(c.kind));
    head.appendChild(el("span", "comment-author", (c.author && c.author.name) || "Someone"));
    if (c.private) head.appendChild(el("span", "badge private-note", "Private note"));
    if (c.resolved) head.appendChild(el("span", "badge resolved-badge", resolvedLabel(c)));
    if (c.edited_at) head.appendChild(el("span", "muted edited", "(edited)"));
    li.appendChild(head);
    var text = el("div", "comment-body");
    text.innerHTML = c.body_html; // sanitised on the server: only strong, em, a, br
    li.appendChild(text);
    if (c.goal_ids && c.goal_ids.length) {
      var chips = el("ul", "goal-chips");
      chips.setAttribute("aria-label", "Goals");
      c.goal_ids.forEach(function (gid) {
        var goal = goalsById[gid];
        chips.appendChild(el("li", "chip", goal ? goal.title : "Goal"));
      });
      li.appendChild(chips);
    }
    var actions = el("div", "comment-actions");
    function action(name, label, accessible) {
      var b = el("button", "quiet small", label);
      b.type = "button";
      b.dataset.action = name;
      if (accessible) b.setAttribute("aria-label", accessible);
      actions.appendChild(b);
    }
    var who = (c.author && c.author.name) || "comment";
    // A thread is resolved as a whole, by anyone in the partnership: Reply and Resolve sit on
    // the thread only. Edit, Delete and Copy link wait in one shared "More" menu, built when
    // first opened (a list of 1,000 comments holds 1,000 More buttons, not 1,000 menus).
    if (!isReply) {
      action("reply", "Reply", "Reply to " + who + " at " + fmt(c.t_start));
      action("resolve", c.resolved ? "Reopen" : "Resolve",
        (c.resolved ? "Reopen" : "Resolve") + " the thread at " + fmt(c.t_start));
    }
    action("more", "More", "More actions for " + (c.author && c.author.id === me ? "your comment" : who + "’s comment") + " at " + fmt(c.t_start));
    var more = actions.lastChild;
    more.classList.add("comment-more");
    more.setAttribute("aria-haspopup", "menu");
    more.setAttribute("aria-expanded", "false");
    li.appendChild(actions);
    itemById[c.id] = li;
    return li;
  }

  function rebuildIndex() {
    byId = {};
    comments.forEach(function (c) { byId[c.id] = c; });
    var repliesOf = {};
    sorted = [];
    comments.forEach(function (c) {
      if (c.parent_id && byId[c.parent_id]) {
        (repliesOf[c.parent_id] = repliesOf[c.parent_id] || []).push(c);
      } else {
        sorted.push(c);
      }
    });
    sorted.sort(function (a, b) { return a.t_start - b.t_start || (a.created_at < b.created_at ? -1 : 1); });
    Object.keys(repliesOf).forEach(function (id) {
      repliesOf[id].sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    });
    maxSpan = POINT_SPAN;
    sorted.forEach(function (c) {
      if (c.t_end !== null && c.t_end !== undefined) maxSpan = Math.max(maxSpan, c.t_end - c.t_start);
    });
    return repliesOf;
  }

  function renderThread(c, repliesOf) {
    var li = renderItem(c, false);
    var replies = repliesOf[c.id];
    if (replies) {
      var ol = el("ol", "replies");
      ol.setAttribute("aria-label", "Replies");
      replies.forEach(function (r) { ol.appendChild(renderItem(r, true)); });
      li.appendChild(ol);
    }
    return li;
  }

  // The first load draws a long list in slices, FIRST_SLICE threads at once and then
  // SLICE per task, so the player stays responsive (bench/review_page_bench.py: no task
  // over 200 ms with 1,000 comments); later redraws, after a change here, are whole.
  var FIRST_SLICE = 100;
  var SLICE = 150;
  var drawing = 0; // counts redraws: a slice of an older one stops when a newer starts
  var whenDrawn = null; // the first load's "done", kept until some redraw finishes

  function renderAll(done) {
    renderPending = false; // this draws everything: nothing is left for the menu to draw
    closeMenu(false);
    var repliesOf = rebuildIndex();
    itemById = {};
    var generation = ++drawing;
    var next = 0;
    var sliced = typeof done === "function";
    if (sliced) whenDrawn = done;
    list.textContent = "";
    function draw(count) {
      if (generation !== drawing) return;
      var fragment = document.createDocumentFragment();
      var end = sliced ? Math.min(sorted.length, next + count) : sorted.length;
      for (; next < end; next++) fragment.appendChild(renderThread(sorted[next], repliesOf));
      list.appendChild(fragment);
      if (next < sorted.length) {
        setTimeout(function () { draw(SLICE); }, 0);
        return;
      }
      if (sliced) setTimeout(markers, 0);
      else markers();
    }
    function markers() {
      if (generation !== drawing) return;
      renderMarkers();
      if (sliced) setTimeout(finish, 0);
      else finish();
    }
    function finish() {
      if (generation !== drawing) return;
      refreshAuthors();
      applyFilters();
      activeId = null;
      updateActive(video.currentTime);
      var finished = whenDrawn;
      whenDrawn = null;
      if (finished) finished();
    }
    draw(FIRST_SLICE);
  }

  function renderMarkers() {
    markerById = {};
    var fragment = document.createDocumentFragment();
    sorted.forEach(function (c) {
      var range = c.t_end !== null && c.t_end !== undefined;
      var m = el("div", "marker is-" + c.kind + (range ? " range" : ""));
      m.dataset.id = c.id;
      m.title = KINDS[c.kind] + " at " + fmtRange(c.t_start, c.t_end) + " by " + ((c.author && c.author.name) || "");
      markerById[c.id] = m;
      fragment.appendChild(m);
    });
    markersBox.textContent = "";
    markersBox.appendChild(fragment);
    layoutMarkers();
  }
  function layoutMarkers() {
    sorted.forEach(function (c) {
      var m = markerById[c.id];
      if (!m) return;
      m.style.left = pct(c.t_start) + "%";
      if (c.t_end !== null && c.t_end !== undefined) m.style.width = Math.max(0.4, pct(c.t_end) - pct(c.t_start)) + "%";
    });
  }

  function refreshAuthors() {
    var select = $("filter-author");
    var current = select.value;
    var seen = {};
    var fragment = document.createDocumentFragment();
    var all = el("option", "", "Everyone");
    all.value = "";
    fragment.appendChild(all);
    comments.forEach(function (c) {
      if (!c.author || seen[c.author.id]) return;
      seen[c.author.id] = true;
      var option = el("option", "", c.author.name + (c.author.id === me ? " (me)" : ""));
      option.value = c.author.id;
      fragment.appendChild(option);
    });
    select.textContent = "";
    select.appendChild(fragment);
    select.value = seen[current] ? current : "";
  }

  // ---------- filters ----------
  function matches(c, f) {
    if (f.goal && (c.goal_ids || []).indexOf(f.goal) < 0) return false;
    if (f.kind && c.kind !== f.kind) return false;
    if (f.author && (!c.author || c.author.id !== f.author)) return false;
    if (f.mine && (!c.author || c.author.id !== me)) return false;
    return true;
  }
  function applyFilters() {
    var f = {
      goal: $("filter-goal").value,
      kind: $("filter-kind").value,
      author: $("filter-author").value,
      unresolved: $("filter-unresolved").checked,
      mine: $("filter-mine").checked
    };
    var shown = 0;
    comments.forEach(function (c) { c._match = matches(c, f); });
    sorted.forEach(function (c) {
      var li = itemById[c.id];
      // "Unresolved only" is about threads: a resolved one goes with all its replies.
      var visible = c._match && !(f.unresolved && c.resolved);
      if (!visible && !(f.unresolved && c.resolved)) {
        var replies = li.querySelectorAll(".reply");
        for (var i = 0; i < replies.length; i++) {
          var r = byId[replies[i].dataset.id];
          if (r && r._match) { visible = true; break; }
        }
      }
      c._visible = visible;
      li.hidden = !visible;
      if (markerById[c.id]) markerById[c.id].hidden = !visible;
      if (visible) shown++;
    });
    var total = sorted.length;
    $("comment-count").textContent = shown === total ? "(" + total + ")" : "(" + shown + " of " + total + ")";
    activeId = null;
    updateActive(video.currentTime);
  }
  $("filters").addEventListener("change", applyFilters);
  $("filters").addEventListener("submit", function (event) { event.preventDefault(); });

  // ---------- highlight of the comment under the playhead ----------
  function findActive(t) {
    var lo = 0, hi = sorted.length; // first index with t_start > t
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (sorted[mid].t_start <= t + 0.001) lo = mid + 1; else hi = mid;
    }
    for (var i = lo - 1; i >= 0; i--) {
      var c = sorted[i];
      if (t - c.t_start > maxSpan) break;
      if (!c._visible) continue;
      var end = c.t_end !== null && c.t_end !== undefined ? c.t_end : c.t_start + POINT_SPAN;
      if (t <= end) return c.id;
    }
    return null;
  }
  function updateActive(t) {
    var id = findActive(t);
    if (id === activeId) return;
    if (activeId && itemById[activeId]) {
      itemById[activeId].removeAttribute("aria-current");
      if (markerById[activeId]) markerById[activeId].classList.remove("active");
    }
    activeId = id;
    if (id && itemById[id]) {
      itemById[id].setAttribute("aria-current", "true");
      if (markerById[id]) markerById[id].classList.add("active");
      if (!video.paused) scrollIntoList(itemById[id]);
    }
  }
  function scrollIntoList(li) {
    var top = li.offsetTop - list.offsetTop;
    if (top < list.scrollTop || top + li.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - 8);
    }
  }
  function focusItem(id, focusIt) {
    var li = itemById[id];
    if (!li) return;
    scrollIntoList(li);
    li.classList.add("flash-item");
    window.setTimeout(function () { li.classList.remove("flash-item"); }, 800);
    if (focusIt) { var b = li.querySelector(".comment-time"); if (b) b.focus(); }
  }

  // ---------- list interactions (event delegation) ----------
  list.addEventListener("click", function (event) {
    var li = event.target.closest(".comment");
    if (!li) return;
    var c = byId[li.dataset.id];
    if (!c) return;
    var button = event.target.closest("button");
    var action = button && button.dataset.action;
    if (action === "reply") return startReply(c);
    if (action === "resolve") return setResolved(c, !c.resolved);
    if (action === "more") return toggleMenu(button, c);
    if (action === "edit") { closeMenu(false); return startEdit(c, li); }
    if (action === "copy-link") { closeMenu(true); return copyLink(c); }
    if (action === "delete") { closeMenu(true); return removeComment(c); }
    if (event.target.closest(".comment-menu")) return;
    if (action === "save-edit" || action === "cancel-edit") return;
    if (button || event.target.closest("a, input, textarea, select, label, form")) {
      if (action !== "seek") return;
    }
    event.stopPropagation();
    seek(c.t_start);
  });

  function replaceComment(updated) {
    for (var i = 0; i < comments.length; i++) {
      if (comments[i].id === updated.id) { comments[i] = updated; return; }
    }
    comments.push(updated);
  }
  // Only the changed thread is drawn again: resolving one of 1,000 should not redraw 1,000.
  function redrawThread(id) {
    var old = itemById[id];
    if (!old || !old.isConnected || (menu && old.contains(menu))) { renderAll(); return; }
    var repliesOf = rebuildIndex();
    var c = byId[id];
    if (!c || c.parent_id) { renderAll(); return; }
    old.replaceWith(renderThread(c, repliesOf));
    applyFilters();
  }
  // The first shown thread after `id` in time order (or before it): where the focus goes
  // when the one it was on disappears.
  function nextShown(id) {
    var at = -1;
    for (var i = 0; i < sorted.length; i++) if (sorted[i].id === id) { at = i; break; }
    var order = sorted.slice(at + 1).concat(sorted.slice(0, Math.max(0, at)).reverse());
    for (var j = 0; j < order.length; j++) {
      var li = itemById[order[j].id];
      if (li && !li.hidden) return order[j].id;
    }
    return null;
  }
  function setResolved(c, resolved) {
    api("PATCH", commentUrl(c.id), { resolved: resolved })
      .then(function (data) {
        replaceComment(data.comment);
        redrawThread(c.id);
        var li = itemById[c.id];
        if (li && li.hidden) {
          // "Unresolved only" hides it now: say so, and keep the focus in the list.
          announce("Marked as resolved. It is hidden while Unresolved only is ticked.");
          var next = nextShown(c.id);
          if (next) focusItem(next, true); else $("filter-unresolved").focus();
          return;
        }
        announce(resolved ? "Marked as resolved." : "Reopened.");
        focusItem(c.id, false);
        // The focus stays on the button pressed, which now says the opposite.
        var toggle = li && li.querySelector(":scope > .comment-actions [data-action=resolve]");
        if (toggle) toggle.focus();
      })
      .catch(function (error) { announce(error.message); });
  }
  function removeComment(c) {
    var more = itemById[c.id] && itemById[c.id].querySelector(".comment-more");
    var ask = window.videocoachConfirm;
    var question = c.parent_id ? "Delete your reply at " + fmt(c.t_start) + "? This cannot be undone."
      : "Delete your comment at " + fmt(c.t_start) + "? This cannot be undone.";
    if (!ask) return; // confirm.js is on every page; without it, nothing is deleted unasked
    ask(question, { label: "Delete comment", danger: true, returnFocus: more }).then(function (confirmed) {
      if (!confirmed) return;
      var thread = c.parent_id && byId[c.parent_id] ? c.parent_id : null;
      var next = thread || nextShown(c.id);
      api("DELETE", commentUrl(c.id))
        .then(function () {
          comments = comments.filter(function (x) { return x.id !== c.id; });
          renderAll();
          announce("Comment deleted.");
          if (next && itemById[next] && !itemById[next].hidden) focusItem(next, true);
          else { $("comments-heading").tabIndex = -1; $("comments-heading").focus(); }
        })
        .catch(function (error) { announce(error.message); });
    });
  }
  function commentLink(c) {
    var page = root.dataset.clipUrl || window.location.pathname;
    return new URL(page + "#comment-" + encodeURIComponent(c.id), window.location.href).href;
  }
  function showLinkField(c, link) {
    var li = itemById[c.id];
    if (!li) return;
    var box = li.querySelector(":scope > .comment-link");
    if (!box) {
      box = el("p", "comment-link");
      var label = el("label", "", "Link to this comment: copy it with Ctrl+C (⌘C on a Mac)");
      label.htmlFor = "link-" + c.id;
      var field = document.createElement("input");
      field.type = "text";
      field.readOnly = true;
      field.id = "link-" + c.id;
      box.appendChild(label);
      box.appendChild(field);
      li.querySelector(":scope > .comment-actions").after(box);
    }
    var input = box.querySelector("input");
    input.value = link;
    input.focus();
    input.select();
    announce("The link is selected: copy it with Ctrl+C.");
  }
  function copyLink(c) {
    var link = commentLink(c);
    function copied() { announce("Link to the comment copied."); }
    function byHand() {
      // No clipboard API (a plain-http address) or no permission: the old way, through a
      // selected text box, and if even that is refused, the link shown to copy by hand.
      var box = el("textarea", "visually-hidden");
      box.value = link;
      box.setAttribute("aria-hidden", "true");
      document.body.appendChild(box);
      box.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      box.remove();
      if (ok) {
        var more = itemById[c.id] && itemById[c.id].querySelector(".comment-more");
        if (more) more.focus();
        copied();
      } else {
        showLinkField(c, link);
      }
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(link).then(copied, byHand);
    } else {
      byHand();
    }
  }

  // ---------- the "More" menu (Edit, Copy link, Delete) ----------
  // One menu element for the whole list, built the first time it is opened and moved to the
  // comment it is opened for. A menu button: aria-expanded on the button, arrow keys move
  // between the items, Escape (or a click elsewhere) closes it and the focus goes back.
  var menu = null;
  var menuButton = null;
  var renderPending = false; // a live change arrived while the menu was open
  function buildMenu() {
    menu = el("div", "comment-menu");
    menu.id = "comment-menu";
    menu.setAttribute("role", "menu");
    menu.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]"));
      var at = items.indexOf(document.activeElement);
      var to = null;
      if (event.key === "ArrowDown") to = (at + 1) % items.length;
      else if (event.key === "ArrowUp") to = (at - 1 + items.length) % items.length;
      else if (event.key === "Home") to = 0;
      else if (event.key === "End") to = items.length - 1;
      else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        closeMenu(true);
        return;
      } else if (event.key === "Tab") {
        closeMenu(false);
        return;
      } else {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      items[to].focus();
    });
    menu.addEventListener("focusout", function (event) {
      var next = event.relatedTarget;
      if (!menuButton || (next && (menu.contains(next) || next === menuButton))) return;
      if (next) closeMenu(false);
    });
  }
  function menuItem(action, label, cls) {
    var b = el("button", cls || "", label);
    b.type = "button";
    b.tabIndex = -1;
    b.dataset.action = action;
    b.setAttribute("role", "menuitem");
    return b;
  }
  function toggleMenu(button, c) {
    if (menuButton === button) { closeMenu(true); return; }
    openMenu(button, c, 0);
  }
  function openMenu(button, c, focusAt) {
    closeMenu(false);
    if (!menu) buildMenu();
    var mine = c.author && c.author.id === me;
    menu.textContent = "";
    if (mine) menu.appendChild(menuItem("edit", "Edit"));
    menu.appendChild(menuItem("copy-link", "Copy link"));
    if (mine) menu.appendChild(menuItem("delete", "Delete", "danger-item"));
    if (!button.id) button.id = "more-" + c.id;
    menu.setAttribute("aria-labelledby", button.id);
    button.after(menu);
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", menu.id);
    button.closest(".comment").classList.add("menu-open");
    menuButton = button;
    var items = menu.querySelectorAll("[role=menuitem]");
    items[focusAt < 0 ? items.length - 1 : focusAt].focus();
    document.addEventListener("pointerdown", outsideMenu, true);
  }
  function outsideMenu(event) {
    if (menu && !menu.contains(event.target) && event.target !== menuButton) closeMenu(false);
  }
  function closeMenu(returnFocus) {
    if (!menuButton) return;
    var button = menuButton;
    var id = button.closest(".comment").dataset.id;
    menuButton = null;
    document.removeEventListener("pointerdown", outsideMenu, true);
    button.setAttribute("aria-expanded", "false");
    button.removeAttribute("aria-controls");
    button.closest(".comment").classList.remove("menu-open");
    menu.remove();
    if (renderPending) {
      renderAll();
      button = itemById[id] && itemById[id].querySelector(".comment-more");
    }
    if (returnFocus && button && button.isConnected) button.focus();
  }
  list.addEventListener("keydown", function (event) {
    var button = event.target.closest && event.target.closest(".comment-more");
    if (!button || (event.key !== "ArrowDown" && event.key !== "ArrowUp")) return;
    var c = byId[button.closest(".comment").dataset.id];
    if (!c) return;
    event.preventDefault();
    event.stopPropagation();
    openMenu(button, c, event.key === "ArrowUp" ? -1 : 0);
  });
  function startEdit(c, li) {
    if (li.querySelector(".edit-form")) return;
    var form = el("form", "edit-form");
    var id = "edit-" + c.id;
    var label = el("label", "", "Edit comment");
    label.htmlFor = id;
    var area = document.createElement("textarea");
    area.id = id;
    area.maxLength = body.maxLength;  // the limit is written once, in the template
    area.value = c.body;
    var kindLabel = el("label", "", "Kind");
    kindLabel.htmlFor = id + "-kind";
    var kind = document.createElement("select");
    kind.id = id + "-kind";
    Object.keys(KINDS).forEach(function (k) {
      var o = el("option", "", KINDS[k]);
      o.value = k;
      kind.appendChild(o);
    });
    kind.value = c.kind;
    var row = el("div", "button-row");
    var save = el("button", "primary small", "Save");
    save.type = "submit";
    save.dataset.action = "save-edit";
    var cancel = el("button", "quiet small", "Cancel");
    cancel.type = "button";
    cancel.dataset.action = "cancel-edit";
    row.appendChild(save);
    row.appendChild(cancel);
    [label, area, kindLabel, kind, row].forEach(function (n) { form.appendChild(n); });
    var bodyBox = li.querySelector(".comment-body");
    bodyBox.after(form);
    bodyBox.hidden = true;
    area.focus();
    cancel.addEventListener("click", function () { form.remove(); bodyBox.hidden = false; focusItem(c.id, true); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("PATCH", commentUrl(c.id), { body: area.value, kind: kind.value })
        .then(function (data) {
          replaceComment(data.comment);
          renderAll();
          announce("Comment saved.");
          focusItem(c.id, true);
        })
        .catch(function (error) { announce(error.message); window.alert(error.message); });
    });
  }

  // ---------- composer ----------
  function showStamp() {
    if (replyTo) {
      stampLabel.textContent = "reply at " + fmtRange(replyTo.t_start, replyTo.t_end);
    } else if (stamp.start === null) {
      stampLabel.textContent = "at " + fmt(video.currentTime) + " (when you start typing)";
    } else {
      stampLabel.textContent = "at " + fmtRange(stamp.start, stamp.end);
    }
    clearRangeButton.hidden = stamp.end === null || !!replyTo;
    if (stamp.start !== null && !replyTo) {
      selection.hidden = false;
      selection.style.left = pct(stamp.start) + "%";
      selection.style.width = stamp.end === null ? "" : Math.max(0.3, pct(stamp.end) - pct(stamp.start)) + "%";
      selection.classList.toggle("point", stamp.end === null);
    } else {
      selection.hidden = true;
    }
  }
  function setStamp(start, end) {
    $("composer").classList.add("open");
    stamp.start = Math.round(start * 1000) / 1000;
    stamp.end = end === null || end === undefined ? null : Math.round(end * 1000) / 1000;
    showStamp();
  }
  function stampNow() {
    video.pause();
    setStamp(video.currentTime, null);
  }
  function markIn() {
    video.pause();
    var t = video.currentTime;
    var end = stamp.end !== null && stamp.end > t ? stamp.end : null;
    setStamp(t, end);
    announce("Range starts at " + fmt(t) + ".");
  }
  function markOut() {
    video.pause();
    var t = video.currentTime;
    if (stamp.start === null || t <= stamp.start) {
      announce("Mark the start of the range with [ first, before this moment.");
      if (stamp.start === null) setStamp(Math.max(0, t - 5), t);
      return;
    }
    setStamp(stamp.start, t);
    announce("Range " + fmtRange(stamp.start, t) + ".");
  }
  body.addEventListener("input", function () {
    if (stamp.start === null && !replyTo && body.value.trim()) stampNow();
  });
  $("use-current-time").addEventListener("click", function () { stampNow(); body.focus(); });
  clearRangeButton.addEventListener("click", function () { setStamp(stamp.start, null); body.focus(); });
  video.addEventListener("timeupdate", function () { if (stamp.start === null && !replyTo) showStamp(); });

  // A reply is a note unless its writer chooses otherwise; the kind picked for the comment
  // being written comes back if the reply is cancelled.
  var kindSelect = $("composer-kind");
  var kindBeforeReply = null;
  function startReply(c) {
    if (!replyTo) kindBeforeReply = kindSelect.value;
    kindSelect.value = "note";
    replyTo = c;
    $("reply-to").textContent = ((c.author && c.author.name) || "a comment") + " at " + fmt(c.t_start);
    $("reply-banner").hidden = false;
    $("composer-submit").textContent = "Post reply";
    showStamp();
    body.focus();
  }
  function cancelReply() {
    if (replyTo && kindBeforeReply !== null) kindSelect.value = kindBeforeReply;
    kindBeforeReply = null;
    replyTo = null;
    $("reply-banner").hidden = true;
    $("composer-submit").textContent = "Post comment";
    showStamp();
  }
  $("cancel-reply").addEventListener("click", function () { cancelReply(); body.focus(); });

  var composer = $("composer");
  function openComposer() { composer.classList.add("open"); }
  composer.addEventListener("focusin", openComposer);
  composer.addEventListener("focusout", function () {
    window.setTimeout(function () {
      if (!composer.contains(document.activeElement) && !body.value.trim() && !replyTo && stamp.start === null) {
        composer.classList.remove("open");
      }
    }, 150);
  });

  function showError(message) {
    composerError.textContent = message;
    composerError.hidden = !message;
  }
  function resetComposer() {
    body.value = "";
    stamp = { start: null, end: null };
    $("composer-private").checked = false;
    goalList.querySelectorAll("input").forEach(function (box) { box.checked = false; });
    cancelReply();
    kindSelect.value = "note"; // a kind is chosen for each comment, never carried over
    showError("");
  }
  $("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = body.value.trim();
    if (!text) { showError("Write something first."); body.focus(); return; }
    var payload = {
      body: text,
      kind: kindSelect.value,
      private: $("composer-private").checked,
      goal_ids: Array.prototype.map.call(goalList.querySelectorAll("input:checked"), function (box) { return box.value; })
    };
    if (replyTo) {
      payload.parent_id = replyTo.id;
    } else {
      if (stamp.start === null) stampNow();
      payload.t_start = stamp.start;
      if (stamp.end !== null) payload.t_end = stamp.end;
    }
    var submit = $("composer-submit");
    submit.disabled = true;
    api("POST", commentsUrl, payload)
      .then(function (data) {
        comments.push(data.comment);
        renderAll();
        resetComposer();
        announce("Comment posted at " + fmtRange(data.comment.t_start, data.comment.t_end) + ".");
        focusItem(data.comment.parent_id || data.comment.id, false);
      })
      .catch(function (error) { showError(error.message); })
      .then(function () { submit.disabled = false; });
  });
  body.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("composer").requestSubmit();
    } else if (event.key === "Escape" && !body.value) {
      cancelReply();
      timeline.focus();
    }
  });

  // ---------- keyboard shortcuts ----------
  function toggleHelp() {
    if (help.open) help.close();
    else if (help.showModal) help.showModal();
  }
  $("help-open").addEventListener("click", toggleHelp);
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    if (event.key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (help.open) return;
    var onButton = tag === "BUTTON" || tag === "A" || tag === "SUMMARY";
    switch (event.key) {
      case " ":
        if (onButton) return;
        event.preventDefault(); togglePlay(); break;
      case "k": case "K":
        event.preventDefault(); togglePlay(); break;
      case "j": case "J":
        event.preventDefault(); seek(video.currentTime - 5); break;
      case "l": case "L":
        event.preventDefault(); seek(video.currentTime + 5); break;
      case ",":
        if (video.paused) { event.preventDefault(); seek(video.currentTime - FRAME); }
        break;
      case ".":
        if (video.paused) { event.preventDefault(); seek(video.currentTime + FRAME); }
        break;
      case "c": case "C":
        event.preventDefault();
        if (!replyTo) stampNow();
        body.focus();
        break;
      case "[":
        event.preventDefault(); markIn(); break;
      case "]":
        event.preventDefault(); markOut(); break;
      default:
        return;
    }
  });

  // ---------- live changes from others (meeting.js) ----------
  // Someone else's change must not wipe a comment being edited here: it shows once the
  // edit is saved or cancelled (both re-render).
  function renderUnlessEditing() {
    if (menuButton) { renderPending = true; return; } // drawn when the menu closes
    if (!list.querySelector(".edit-form")) renderAll();
  }
  window.videocoachReview = {
    video: video,
    seek: seek,
    api: api,
    announce: announce,
    upsertComment: function (c) { replaceComment(c); renderUnlessEditing(); },
    removeComment: function (id) {
      comments = comments.filter(function (x) { return x.id !== id; });
      renderUnlessEditing();
    }
  };

  // ---------- a clip processed while its page is open (clip-status.js polls) ----------
  document.addEventListener("videocoach:clip", function (event) {
    var clip = event.detail || {};
    var media = clip.media || {};
    if (clip.duration_s && !root.dataset.duration) {
      root.dataset.duration = String(clip.duration_s);
      lengthChanged();
    }
    if (media.waveform && !root.dataset.waveform) loadWaveform(media.waveform);
    if (media.storyboard && !root.dataset.storyboard) loadStoryboard(media.storyboard);
  });

  // ---------- links to a moment or a comment ----------
  // /clips/<id>#t=14.5 seeks there (as in Media Fragments: also t=npt:14.5 and t=14.5,20);
  // /clips/<id>#comment-<cid> shows that comment: scrolled to, highlighted, focused, and the
  // player at its moment. Read when the page opens and whenever the fragment changes.
  var linkedComment = null; // the id of a comment to show once the comments are loaded
  function readLink() {
    var hash = window.location.hash.replace(/^#/, "");
    var match = /^comment-([\w-]+)$/.exec(hash);
    if (match) {
      linkedComment = match[1];
      showLinkedComment();
      return;
    }
    var t = new URLSearchParams(hash).get("t");
    if (t === null) return;
    var start = parseVttTime(t.replace(/^npt:/, "").split(",")[0]);
    if (isFinite(start) && start >= 0) seek(start);
  }
  function showLinkedComment() {
    if (!linkedComment || root.dataset.loaded !== "true") return;
    var c = byId[linkedComment];
    var li = itemById[linkedComment];
    linkedComment = null;
    if (!c || !li) { announce("That comment is not on this clip any more."); return; }
    var top = li.closest("#comment-list > li");
    if (top && top.hidden) { $("filters").reset(); applyFilters(); }
    seek(c.t_start);
    var before = list.querySelector(".is-linked");
    if (before) before.classList.remove("is-linked");
    li.classList.add("is-linked");
    li.tabIndex = -1;
    li.scrollIntoView({ block: "center" });
    li.focus({ preventScroll: true });
  }
  window.addEventListener("hashchange", readLink);

  // ---------- load ----------
  function load() {
    api("GET", commentsUrl)
      .then(function (data) {
        comments = data.items || [];
        renderAll(function () {
          $("comments-loading").hidden = true;
          root.dataset.loaded = "true";
          showLinkedComment();
        });
      })
      .catch(function (error) {
        $("comments-loading").textContent = "Could not load the comments: " + error.message;
      });
  }
  updatePlayButton();
  showStamp();
  updatePlayhead(0);
  readLink();
  load();
})();
