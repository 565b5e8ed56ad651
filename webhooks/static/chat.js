/* teleopd web chat: plain ES2018, no dependencies.
 * All message text is inserted with textContent (never innerHTML): it contains user input.
 * Replies arrive by long polling (GET …/messages?after=<cursor>&wait=25): one request at a
 * time, answered the moment the bot has something to say.
 * The tab's chat is the server's: its secret is an HttpOnly cookie this script never sees,
 * set by the first message's answer (webhooks/webchat.py); body[data-api] is its URL.
 * The page's own words come in every language (#page-words): when the chat's language
 * changes, they follow it, without a reload. */
(function () {
  'use strict';

  // The box takes the code as it was printed ("ENROLL: AB12 CD34" too): the server reads it
  // (flows/steps/enrolment.py code_in); here only an empty or overlong paste is stopped.
  var CODE_RE = /^[\s\S]{4,60}$/;
  var WAIT_S = 25;                  // the server's cap (webhooks/webchat.py MAX_WAIT_S)
  var BACKOFF_MS = 1000, MAX_BACKOFF_MS = 15000;
  // A server that does not hold requests (one thread per process) answers a long poll at
  // once: then ask again after this, as plain polling would.
  var QUICK_EMPTY_MS = 1000, POLL_MS = 2000;
  var RETRY_MS = [300, 1000, 2500]; // POST retries (network error / 5xx), same id each time
  var STAFF = { doctor: true, health_worker: true };

  var body = document.body;
  var $ = function (id) { return document.getElementById(id); };
  var list = $('messages'), statusEl = $('status'), input = $('text'), form = $('composer');
  var enrolForm = $('enrol'), enrolCode = $('enrol-code'), roleLabel = $('role-label');
  var url = body.dataset.api;
  var chatEnd = body.dataset.chatEnd; // "" for a ?user= chat of the local demo
  var pageRole = body.dataset.role || 'patient';
  var WORDS = JSON.parse($('page-words').textContent); // language → the page's own words
  var lang = document.documentElement.lang;
  function words() { return WORDS[lang]; }
  var user = null; // the chat's address, once the server has opened it

  // ---- what this tab keeps --------------------------------------------------------------
  // The bot's side of the chat comes from the server. The patient's own lines are kept
  // only in this tab's sessionStorage, for a reload, and go with the tab, with "new chat"
  // and when the chat ends: nothing typed stays on a shared clinic phone.
  var MINE = 'teleopd.mine.';
  function sessionKeys() {
    try { return Object.keys(sessionStorage); } catch (e) { return []; }
  }
  function loadSent() {
    if (!user) return [];
    try { return JSON.parse(sessionStorage.getItem(MINE + user)) || []; } catch (e) { return []; }
  }
  function remember(text, at) {
    if (!user) return;
    var sent = loadSent();
    sent.push({ text: text, at: at });
    try { sessionStorage.setItem(MINE + user, JSON.stringify(sent.slice(-200))); } catch (e) { /* storage off or full */ }
  }
  function forgetSent() {
    sessionKeys().forEach(function (k) { if (k.indexOf(MINE) === 0) sessionStorage.removeItem(k); });
  }
  // Earlier versions of this page kept every typed line in localStorage for good: clear them.
  try {
    Object.keys(localStorage).forEach(function (k) { if (k.indexOf('teleopd.') === 0) localStorage.removeItem(k); });
  } catch (e) { /* storage disabled */ }

  // ---- ids and the chat -----------------------------------------------------------------
  function rand36(n) {
    var a = new Uint8Array(n);
    crypto.getRandomValues(a);
    return Array.from(a, function (b) { return (b % 36).toString(36); }).join('');
  }
  function newMessageId() {
    return crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + '-' + rand36(16);
  }
  function showChat(chat) {
    // chat: the address the server gave this tab's chat (null while it has none).
    user = chat || null;
    $('user-id').textContent = user || '';
    if (user) body.dataset.user = user; // for tests and the curious: the chat's address
    else delete body.dataset.user;
  }
  function stopPolling() {
    idle = true;
    ended += 1;
    if (current) current.abort();
  }
  function chatEnded() {
    // The server revoked this chat (401): forget it on the page too, and stop asking for
    // its messages; the next message opens a new one.
    stopPolling();
    forgetSent();
    showChat(null);
    cursor = '';
    list.textContent = '';
    setStatus('ended', 'error');
  }
  $('new-chat').addEventListener('click', async function (ev) {
    ev.preventDefault();
    stopPolling();
    forgetSent();
    if (chatEnd) {
      // Ends the chat on the server (its cookie goes too), so nobody can open it again here.
      try { await fetch(chatEnd, { method: 'DELETE' }); } catch (e) { /* offline: the reload shows it */ }
    }
    var next = new URL(location.href);
    next.searchParams.delete('user'); // the role and the language stay
    location.assign(next.toString());
  });

  // ---- status line ----------------------------------------------------------------------
  // One line of the page's own words (lost, failed, ended, code_invalid), kept by key so
  // that it follows a change of language.
  var statusKey = '', statusKind = '';
  function setStatus(key, kind) {
    statusKey = key || '';
    statusKind = key ? kind : '';
    statusEl.textContent = key ? words()[key] : '';
    statusEl.title = statusEl.textContent; // all of it, should a narrow screen cut it short
    statusEl.className = statusKind;
  }
  function clearStatus(kind) { if (statusKind === kind) setStatus(''); }

  // ---- the page's language ----------------------------------------------------------------
  // The reader chose the page's language in its address: the chat's first word on it
  // does not overrule that, a change of the chat's language later does.
  var pinned = new URLSearchParams(location.search).has('lang');
  var chatLang = null;
  function followChat(next) {
    if (!next || next === chatLang) return;
    var firstSeen = chatLang === null;
    chatLang = next;
    if (!(firstSeen && pinned)) useLanguage(next);
  }
  function useLanguage(next) {
    var w = WORDS[next];
    if (!w || next === lang) return;
    lang = next;
    document.documentElement.lang = next;
    document.title = 'teleopd — ' + w.roles[pageRole];
    document.querySelectorAll('[data-word]').forEach(function (node) { node.textContent = w[node.dataset.word]; });
    document.querySelectorAll('[data-word-placeholder]').forEach(function (node) {
      node.placeholder = w[node.dataset.wordPlaceholder];
    });
    document.querySelectorAll('[data-word-aria-label]').forEach(function (node) {
      node.setAttribute('aria-label', w[node.dataset.wordAriaLabel]);
    });
    document.querySelectorAll('#role-switch a[data-role]').forEach(function (a) {
      a.textContent = w.roles[a.dataset.role];
      var there = new URL(a.href);
      there.searchParams.set('lang', next);
      a.href = there.toString();
    });
    document.querySelectorAll('.langs a[data-lang]').forEach(function (a) {
      if (a.dataset.lang === next) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    });
    document.querySelectorAll('#quick-phrases button[data-phrase]').forEach(function (button, i) {
      button.dataset.phrase = button.textContent = w.phrases[i];
      button.lang = next;
    });
    input.lang = next;
    body.dataset.enrolWord = w.enrol_word;
    showRole(body.dataset.apiRole || null);
    if (statusKey) setStatus(statusKey, statusKind);
    // A reload opens the page in the chat's language too.
    var here = new URL(location.href);
    here.searchParams.set('lang', next);
    history.replaceState(history.state, '', here.toString());
  }

  // ---- role -----------------------------------------------------------------------------
  function roleName(role) { return words().roles[role] || role; }
  function showRole(apiRole) {
    // apiRole: what the server says this user is (null before their first message).
    body.dataset.apiRole = apiRole || '';
    var enrolled = !!STAFF[apiRole];
    var waitingForCode = !!STAFF[pageRole] && !enrolled;
    enrolForm.hidden = !waitingForCode;
    body.dataset.enrolled = enrolled ? 'true' : 'false';
    roleLabel.dataset.role = enrolled ? apiRole : pageRole;
    roleLabel.textContent = enrolled ? roleName(apiRole)
      : roleName(pageRole) + (waitingForCode ? ' · ' + words().not_enrolled : '');
  }

  // ---- rendering ------------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function hhmm(at) {
    var d = new Date(at);
    if (isNaN(d)) return '';
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }
  function addMessage(kind, text, at, choices, id, emergency, live, media) {
    $('empty').hidden = true;
    var li = el('li', 'msg ' + kind);
    li.dataset.from = kind;
    if (id) li.dataset.id = id;
    if (emergency) {
      // Emergency advice stands apart, its numbers a tap away; one that arrives now is
      // read out at once (an alert); the history's are not, all at once, on load.
      li.classList.add('emergency');
      if (live) li.setAttribute('role', 'alert');
      var label = el('strong', 'alert-label', words().emergency);
      label.dataset.word = 'emergency';
      li.appendChild(label);
    }
    li.appendChild(messageText(text, emergency));
    var file = kind === 'bot' ? mediaView(media, text) : null;
    if (file) li.appendChild(file);
    var time = el('time', 'at', hhmm(at));
    time.dateTime = at;
    li.appendChild(time);
    if (kind === 'bot') {
      // Only the latest bot message keeps its buttons.
      list.querySelectorAll('.choices').forEach(function (c) { c.remove(); });
      if (choices && choices.length) li.appendChild(choiceButtons(choices));
    }
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }
  var LINK_RE = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'”’]/;
  // The numbers emergency advice gives: 108 (ambulance), 112 (emergency), 14416 (Tele-MANAS).
  var EMERGENCY_NUMBER_RE = /(?<![0-9])(?:108|112|14416)(?![0-9])/;
  var LINKS = new RegExp(LINK_RE.source, 'g');
  var LINKS_AND_NUMBERS = new RegExp(LINK_RE.source + '|' + EMERGENCY_NUMBER_RE.source, 'g');
  function messageText(text, emergency) {
    // The video call's address is a link, and so is each number of emergency advice (tel:),
    // each built as an element whose text and href are set as strings: no markup in a
    // message is ever parsed.
    var p = el('p', 'text');
    var pattern = emergency ? LINKS_AND_NUMBERS : LINKS;
    var at = 0, found;
    pattern.lastIndex = 0;
    while ((found = pattern.exec(text)) !== null) {
      p.appendChild(document.createTextNode(text.slice(at, found.index)));
      var a = el('a', null, found[0]);
      if (EMERGENCY_NUMBER_RE.test(found[0]) && !LINK_RE.test(found[0])) {
        a.className = 'tel';
        a.href = 'tel:' + found[0];
      } else {
        a.href = found[0];
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      }
      p.appendChild(a);
      at = found.index + found[0].length;
    }
    p.appendChild(document.createTextNode(text.slice(at)));
    return p;
  }
  // A patient's file forwarded to the doctor's desk shows in the message: a picture as a
  // thumbnail that opens it, a voice note as a player, a PDF as a link. Only a file of this
  // server's /media/ route (the server marks no other, and it is checked again here): an
  // address from elsewhere in a message stays a plain link, never a loaded image (tracking,
  // phishing), and the page's Content-Security-Policy allows only 'self' besides.
  function mediaView(media, text) {
    if (!media || typeof media.url !== 'string') return null;
    var u;
    try { u = new URL(media.url, location.href); } catch (e) { return null; }
    if (u.origin !== location.origin || u.pathname.indexOf('/media/') !== 0 || u.search || u.hash) return null;
    var href = u.href, type = String(media.type || ''), box = el('div', 'media');
    box.dataset.kind = media.kind;
    if (type.indexOf('audio/') === 0) {
      var audio = el('audio');
      audio.controls = true;
      audio.preload = 'none'; // a patient's recording loads when the doctor plays it
      audio.src = href;
      box.appendChild(audio);
      return box;
    }
    var image = type.indexOf('image/') === 0;
    if (!image && type !== 'application/pdf') return null;
    var a = el('a', null, image ? null : words().open_pdf);
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    if (image) {
      var img = el('img');
      img.src = href;
      img.alt = text; // the message says whose file it is, in the chat's language
      img.loading = 'lazy';
      a.appendChild(img);
    }
    box.appendChild(a);
    return box;
  }
  function choiceButtons(choices) {
    var box = el('div', 'choices');
    box.setAttribute('role', 'group');
    choices.forEach(function (c) {
      var b = el('button', 'choice', c.label);
      b.type = 'button';
      b.dataset.key = c.key;
      b.addEventListener('click', function () {
        box.querySelectorAll('button').forEach(function (x) { x.disabled = true; });
        send({ choice: c.key }, c.label).then(function (ok) {
          if (ok) box.remove();
          else box.querySelectorAll('button').forEach(function (x) { x.disabled = false; });
        });
      });
      box.appendChild(b);
    });
    return box;
  }

  // ---- sending --------------------------------------------------------------------------
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  async function post(payload) {
    for (var attempt = 0; ; attempt++) {
      var res = null;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify(payload)
        });
      } catch (e) { /* network error: retry below */ }
      if (res && res.ok) {
        var answer = await res.json().catch(function () { return {}; });
        if (answer.chat) showChat(answer.chat);
        return true;
      }
      if (res && res.status === 401) { chatEnded(); return false; }
      // Refused (a 4xx: the server's reason is for developers, in English): say it kindly.
      if (res && res.status < 500) { setStatus('failed', 'error'); return false; }
      if (attempt >= RETRY_MS.length) { setStatus('failed', 'error'); return false; }
      setStatus('lost', 'lost');
      await sleep(RETRY_MS[attempt]);
    }
  }

  var queue = Promise.resolve(); // one POST at a time, in the order the user sent them
  function send(payload, shown) {
    var at = new Date().toISOString();
    var li = addMessage('user', shown, at);
    li.classList.add('pending');
    payload.id = newMessageId();
    var done = queue.then(function () { return post(payload); }).then(function (ok) {
      li.classList.remove('pending');
      if (ok) {
        setStatus(''); // it got through: the connection is fine
        remember(shown, at);
        pollNow();
      } else {
        li.classList.add('failed');
      }
      return ok;
    });
    queue = done;
    return done;
  }

  function sendText(raw) {
    // Sent as typed, in one Unicode form: Devanagari typed on different keyboards can
    // arrive composed or decomposed, and the bot compares words.
    var text = raw.normalize('NFC').trim();
    if (!text) return Promise.resolve(true);
    return send({ text: text }, text);
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var typed = input.value;
    if (!typed.trim()) return;
    input.value = '';
    sendText(typed).then(function (ok) {
      if (!ok && !input.value) input.value = typed; // let the user resend it
    });
    input.focus();
  });

  $('quick-phrases').addEventListener('click', function (ev) {
    var button = ev.target.closest('button[data-phrase]');
    if (!button) return;
    input.value = button.dataset.phrase; // fills, does not send: the user may edit it
    input.focus();
  });

  enrolForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var code = enrolCode.value.normalize('NFC').trim();
    if (!CODE_RE.test(code)) { setStatus('code_invalid', 'error'); enrolCode.focus(); return; }
    clearStatus('error');
    enrolCode.value = '';
    sendText(body.dataset.enrolWord + ' ' + code).then(function (ok) {
      if (!ok && !enrolCode.value) enrolCode.value = code;
    });
  });

  // ---- long polling (one request at a time) ---------------------------------------------
  var cursor = '', first = true, polling = false, idle = false, timer = 0, fails = 0;
  var ended = 0; // how many times the chat ended: a poll asked before that is not listened to
  var current = null; // the AbortController of the poll in flight

  function pollNow() {
    // After a POST: a poll in flight was asked before the reply existed, but the server
    // answers it the moment the reply is recorded. Only when none is in flight (a backoff
    // after an error) start one now.
    if (polling) return;
    clearTimeout(timer);
    poll();
  }

  function ready() {
    if (!first) return;
    first = false; // the composer waits for the history so nothing is shown twice
    input.disabled = $('send').disabled = false;
    body.dataset.ready = 'true';
  }

  function showHistory(messages) {
    // First load: merge the bot's history with what this browser sent, by time.
    var items = messages.map(function (m) { return { bot: m, t: Date.parse(m.at) || 0 }; })
      .concat(loadSent().map(function (s) { return { mine: s, t: Date.parse(s.at) || 0 }; }));
    items.sort(function (a, b) { return a.t - b.t; });
    items.forEach(function (it) {
      if (it.bot) addMessage('bot', it.bot.text, it.bot.at, it.bot.choices, it.bot.id, it.bot.emergency, false, it.bot.media);
      else addMessage('user', it.mine.text, it.mine.at);
    });
    if (!items.length) $('empty').hidden = STAFF[pageRole] === true;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    clearTimeout(timer);
    var delay = 0, asked = Date.now(), waited = !first, chatOfPoll = ended;
    try {
      // The first request answers at once: the history shows without waiting.
      var query = '?after=' + encodeURIComponent(cursor) + (first ? '' : '&wait=' + WAIT_S);
      current = typeof AbortController === 'function' ? new AbortController() : null;
      var res = await fetch(url + query, {
        cache: 'no-store', headers: { Accept: 'application/json' },
        signal: current ? current.signal : undefined
      });
      if (res.status === 401) {
        chatEnded();
        ready();
        return; // no more polls until a message opens a new chat
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      var data = await res.json();
      if (chatOfPoll !== ended) return;
      if (data.chat) showChat(data.chat);
      var messages = data.messages || [];
      if (first) showHistory(messages);
      else messages.forEach(function (m) { addMessage('bot', m.text, m.at, m.choices, m.id, m.emergency, true, m.media); });
      followChat(data.lang);
      showRole(data.role);
      ready();
      if (data.cursor != null) cursor = String(data.cursor);
      // No chat yet: nothing can arrive until the first message opens one (then pollNow).
      idle = !user;
      if (waited && !messages.length && Date.now() - asked < QUICK_EMPTY_MS) delay = POLL_MS;
      fails = 0;
      clearStatus('lost');
    } catch (e) {
      if (chatOfPoll !== ended) return; // the chat ended while this poll waited: nothing to retry
      fails += 1;
      setStatus('lost', 'lost');
      delay = Math.min(BACKOFF_MS * Math.pow(2, fails - 1), MAX_BACKOFF_MS);
    } finally {
      polling = false;
      current = null;
    }
    if (!idle) timer = setTimeout(poll, delay);
  }

  // Leaving the page: end the long poll rather than leave it holding a server thread.
  window.addEventListener('pagehide', function () { if (current) current.abort(); });

  showRole(null);
  poll();
})();
