/* teleopd local web chat: plain ES2018, no dependencies.
 * All message text is inserted with textContent (never innerHTML): it contains user input.
 * Replies arrive by long polling (GET …/messages?after=<cursor>&wait=25): one request at a
 * time, answered the moment the bot has something to say. */
(function () {
  'use strict';

  var USER_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
  var CODE_RE = /^[A-Za-z0-9 -]{4,20}$/; // what flows/conversation.py ENROL takes after the word
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
  var apiBase = body.dataset.apiBase || '';
  var pageRole = body.dataset.role || 'patient';
  var S = {
    lost: body.dataset.msgLost, failed: body.dataset.msgFailed, auth: body.dataset.msgAuth,
    notEnrolled: body.dataset.msgNotEnrolled, codeInvalid: body.dataset.msgCodeInvalid
  };
  var locked = false; // 401: the server wants the operator's token (TELEOPD_WEB_TOKEN)

  // ---- storage and ids ------------------------------------------------------------------
  function store(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      localStorage.setItem(key, value);
    } catch (e) { /* storage disabled: work without it */ }
    return null;
  }
  function rand36(n) {
    var a = new Uint8Array(n);
    crypto.getRandomValues(a);
    return Array.from(a, function (b) { return (b % 36).toString(36); }).join('');
  }
  function newMessageId() {
    return crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + '-' + rand36(16);
  }
  function newBaseId() {
    var id = 'web-' + rand36(8);
    store('teleopd.user', id);
    return id;
  }
  function pickUser() {
    // An explicit ?user= wins; otherwise each role is its own user, derived from this
    // browser's base id (web-abc123, web-abc123.doctor, web-abc123.hw).
    var fromUrl = new URLSearchParams(location.search).get('user');
    if (fromUrl && USER_RE.test(fromUrl)) return fromUrl;
    var saved = store('teleopd.user');
    var base = saved && USER_RE.test(saved) ? saved : newBaseId();
    var derived = base + (body.dataset.userSuffix || '');
    return USER_RE.test(derived) ? derived : base;
  }

  var user = pickUser();
  var url = apiBase + '/api/chat/' + encodeURIComponent(user) + '/messages';
  var sentKey = 'teleopd.sent.' + user; // the API returns only bot messages: keep our own
  $('user-id').textContent = user;
  body.dataset.user = user; // for tests and the curious: the API's user of this tab
  $('new-chat').addEventListener('click', function (ev) {
    ev.preventDefault();
    newBaseId();
    var next = new URL(location.href);
    next.searchParams.delete('user'); // the role and the language stay
    location.assign(next.toString());
  });

  // ---- status line ----------------------------------------------------------------------
  var statusKind = '';
  function setStatus(text, kind) {
    statusKind = text ? kind : '';
    statusEl.textContent = text || '';
    statusEl.className = statusKind;
  }
  function clearStatus(kind) { if (statusKind === kind) setStatus(''); }

  // ---- role -----------------------------------------------------------------------------
  function roleName(role) {
    return body.dataset['roleName' + role.split('_').map(function (w) {
      return w.charAt(0).toUpperCase() + w.slice(1);
    }).join('')] || role;
  }
  function showRole(apiRole) {
    // apiRole: what the server says this user is (null before their first message).
    body.dataset.apiRole = apiRole || '';
    var enrolled = !!STAFF[apiRole];
    var waitingForCode = !!STAFF[pageRole] && !enrolled;
    enrolForm.hidden = !waitingForCode;
    body.dataset.enrolled = enrolled ? 'true' : 'false';
    roleLabel.dataset.role = enrolled ? apiRole : pageRole;
    roleLabel.textContent = enrolled ? roleName(apiRole)
      : roleName(pageRole) + (waitingForCode ? ' · ' + S.notEnrolled : '');
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
  function addMessage(kind, text, at, choices, id) {
    $('empty').hidden = true;
    var li = el('li', 'msg ' + kind);
    li.dataset.from = kind;
    if (id) li.dataset.id = id;
    li.appendChild(messageText(text));
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
  var LINK_RE = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'”’]/g;
  function messageText(text) {
    // The video call's address is a link: only http(s) addresses, each built as an element
    // whose text and href are set as strings, so no markup in a message is ever parsed.
    var p = el('p', 'text');
    var at = 0, found;
    LINK_RE.lastIndex = 0;
    while ((found = LINK_RE.exec(text)) !== null) {
      p.appendChild(document.createTextNode(text.slice(at, found.index)));
      var a = el('a', null, found[0]);
      a.href = found[0];
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      p.appendChild(a);
      at = found.index + found[0].length;
    }
    p.appendChild(document.createTextNode(text.slice(at)));
    return p;
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
  function loadSent() {
    try { return JSON.parse(store(sentKey)) || []; } catch (e) { return []; }
  }
  function remember(text, at) {
    var sent = loadSent();
    sent.push({ text: text, at: at });
    store(sentKey, JSON.stringify(sent.slice(-200)));
  }

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
      if (res && res.ok) return true;
      if (res && res.status === 401) { locked = true; setStatus(S.auth, 'error'); return false; }
      if (res && res.status < 500) {
        var data = await res.json().catch(function () { return {}; });
        setStatus(data.error || S.failed, 'error');
        return false;
      }
      if (attempt >= RETRY_MS.length) { setStatus(S.failed, 'error'); return false; }
      setStatus(S.lost, 'lost');
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
    if (!CODE_RE.test(code)) { setStatus(S.codeInvalid, 'error'); enrolCode.focus(); return; }
    clearStatus('error');
    enrolCode.value = '';
    sendText(body.dataset.enrolWord + ' ' + code).then(function (ok) {
      if (!ok && !enrolCode.value) enrolCode.value = code;
    });
  });

  // ---- long polling (one request at a time) ---------------------------------------------
  var cursor = '', first = true, polling = false, timer = 0, fails = 0;
  var current = null; // the AbortController of the poll in flight

  function pollNow() {
    // After a POST: a poll in flight was asked before the reply existed, but the server
    // answers it the moment the reply is recorded. Only when none is in flight (a backoff
    // after an error) start one now.
    if (polling) return;
    clearTimeout(timer);
    poll();
  }

  function showHistory(messages) {
    // First load: merge the bot's history with what this browser sent, by time.
    var items = messages.map(function (m) { return { bot: m, t: Date.parse(m.at) || 0 }; })
      .concat(loadSent().map(function (s) { return { mine: s, t: Date.parse(s.at) || 0 }; }));
    items.sort(function (a, b) { return a.t - b.t; });
    items.forEach(function (it) {
      if (it.bot) addMessage('bot', it.bot.text, it.bot.at, it.bot.choices, it.bot.id);
      else addMessage('user', it.mine.text, it.mine.at);
    });
    if (!items.length) $('empty').hidden = STAFF[pageRole] === true;
  }

  async function poll() {
    if (polling || locked) return;
    polling = true;
    clearTimeout(timer);
    var delay = 0, asked = Date.now(), waited = !first;
    try {
      // The first request answers at once: the history shows without waiting.
      var query = '?after=' + encodeURIComponent(cursor) + (first ? '' : '&wait=' + WAIT_S);
      current = typeof AbortController === 'function' ? new AbortController() : null;
      var res = await fetch(url + query, {
        cache: 'no-store', headers: { Accept: 'application/json' },
        signal: current ? current.signal : undefined
      });
      if (res.status === 401) {
        locked = true;
        setStatus(S.auth, 'error');
        return; // no more polls until the page is opened with the token
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      var data = await res.json();
      var messages = data.messages || [];
      if (first) showHistory(messages);
      else messages.forEach(function (m) { addMessage('bot', m.text, m.at, m.choices, m.id); });
      showRole(data.role);
      if (first) {
        first = false; // the composer waits for the history so nothing is shown twice
        input.disabled = $('send').disabled = false;
        body.dataset.ready = 'true';
      }
      if (data.cursor != null) cursor = String(data.cursor);
      if (waited && !messages.length && Date.now() - asked < QUICK_EMPTY_MS) delay = POLL_MS;
      fails = 0;
      clearStatus('lost');
    } catch (e) {
      fails += 1;
      setStatus(S.lost, 'lost');
      delay = Math.min(BACKOFF_MS * Math.pow(2, fails - 1), MAX_BACKOFF_MS);
    } finally {
      polling = false;
      current = null;
    }
    if (locked) return;
    timer = setTimeout(poll, delay);
  }

  // Leaving the page: end the long poll rather than leave it holding a server thread.
  window.addEventListener('pagehide', function () { if (current) current.abort(); });

  showRole(null);
  poll();
})();
