/* teleopd local web chat: plain ES2018, no dependencies.
 * All message text is inserted with textContent (never innerHTML): it contains user input. */
(function () {
  'use strict';

  var USER_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
  var POLL_MS = 1500, MAX_POLL_MS = 15000;
  var FAST_MS = [150, 400, 1000];   // polls right after a POST
  var RETRY_MS = [300, 1000, 2500]; // POST retries (network error / 5xx), same id each time

  var body = document.body;
  var $ = function (id) { return document.getElementById(id); };
  var list = $('messages'), statusEl = $('status'), input = $('text'), form = $('composer');
  var apiBase = body.dataset.apiBase || '';
  var S = { lost: body.dataset.msgLost, failed: body.dataset.msgFailed, auth: body.dataset.msgAuth };
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
  function newUserId() {
    var id = 'web-' + rand36(8);
    store('teleopd.user', id);
    return id;
  }
  function pickUser() {
    var fromUrl = new URLSearchParams(location.search).get('user');
    if (fromUrl && USER_RE.test(fromUrl)) return fromUrl;
    var saved = store('teleopd.user');
    return saved && USER_RE.test(saved) ? saved : newUserId();
  }

  var user = pickUser();
  var url = apiBase + '/api/chat/' + encodeURIComponent(user) + '/messages';
  var sentKey = 'teleopd.sent.' + user; // the API returns only bot messages: keep our own
  $('user-id').textContent = user;
  $('new-chat').addEventListener('click', function (ev) {
    ev.preventDefault();
    var next = new URL(location.href);
    next.searchParams.set('user', newUserId());
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
  function addMessage(kind, text, at, choices) {
    $('empty').hidden = true;
    var li = el('li', 'msg ' + kind);
    li.appendChild(el('p', 'text', text));
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
  function choiceButtons(choices) {
    var box = el('div', 'choices');
    box.setAttribute('role', 'group');
    choices.forEach(function (c) {
      var b = el('button', null, c.label);
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
        pollSoon();
      } else {
        li.classList.add('failed');
      }
      return ok;
    });
    queue = done;
    return done;
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = '';
    send({ text: text }, text).then(function (ok) {
      if (!ok && !input.value) input.value = text; // let the user resend it
    });
    input.focus();
  });

  // ---- polling (never two at once) ------------------------------------------------------
  var cursor = '', first = true, polling = false, timer = 0, fails = 0, fast = [];

  function schedule() {
    clearTimeout(timer);
    if (locked) return;
    var now = Date.now();
    fast = fast.filter(function (t) { return t > now; });
    var wait = fails ? Math.min(POLL_MS * Math.pow(2, fails - 1), MAX_POLL_MS) : POLL_MS;
    if (fast.length) wait = Math.min(wait, fast[0] - now);
    timer = setTimeout(poll, wait);
  }
  function pollSoon() {
    var now = Date.now();
    fast = FAST_MS.map(function (ms) { return now + ms; });
    if (!polling) schedule();
  }

  function showHistory(messages) {
    // First load: merge the bot's history with what this browser sent, by time.
    var items = messages.map(function (m) { return { bot: m, t: Date.parse(m.at) || 0 }; })
      .concat(loadSent().map(function (s) { return { mine: s, t: Date.parse(s.at) || 0 }; }));
    items.sort(function (a, b) { return a.t - b.t; });
    items.forEach(function (it) {
      if (it.bot) addMessage('bot', it.bot.text, it.bot.at, it.bot.choices);
      else addMessage('user', it.mine.text, it.mine.at);
    });
    if (!items.length) $('empty').hidden = false;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    clearTimeout(timer);
    try {
      var res = await fetch(url + '?after=' + encodeURIComponent(cursor), {
        cache: 'no-store', headers: { Accept: 'application/json' }
      });
      if (res.status === 401) {
        locked = true;
        setStatus(S.auth, 'error');
        polling = false;
        return; // no more polls until the page is opened with the token
      }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      var data = await res.json();
      var messages = data.messages || [];
      if (first) showHistory(messages);
      else messages.forEach(function (m) { addMessage('bot', m.text, m.at, m.choices); });
      if (first) {
        first = false; // the composer waits for the history so nothing is shown twice
        input.disabled = $('send').disabled = false;
      }
      if (data.cursor != null) cursor = String(data.cursor);
      fails = 0;
      clearStatus('lost');
    } catch (e) {
      fails += 1;
      setStatus(S.lost, 'lost');
    }
    polling = false;
    schedule();
  }

  poll();
})();
