/* Carelog outbox: check-ins, visits, service deliveries and group contacts are kept on the phone until the server has them.
 *
 * A form marked data-outbox ("checkin", "visit", "delivery" or "contact") is sent by this script instead of a plain post:
 * its photos are shrunk here (long side 2048, JPEG 0.85, upright) with their EXIF capture time read
 * from the original file, the entry is saved in IndexedDB under the form's client UUID, and then sent
 * with the idempotent PUT APIs (photos first). Without a connection it stays saved, the page says so,
 * and the navigation shows how many are waiting. The outbox is sent on every page load, when the
 * connection returns, and on "send now". A retry after a lost answer is harmless (same UUIDs); a
 * refusal (409 included) is kept and shown until she removes it, never dropped silently. Two tabs
 * never send the same entry at once: a Web Lock per entry where the browser has them, and the
 * server's idempotency where it has not. Without IndexedDB the form is posted as without JS.
 */
(function () {
  'use strict';

  var DB_NAME = 'carelog';
  var STORE = 'outbox';
  var MAX_SIDE = 2048;
  var QUALITY = 0.85;
  var DISH_SPLIT = /[,，、;；/\n\r]+/;

  var panel = document.getElementById('outbox');
  var owner = panel ? panel.dataset.owner || '' : '';
  var channel = 'BroadcastChannel' in window ? new BroadcastChannel('carelog-outbox') : null;
  var inFlight = new Set();
  var note = '';
  var count = 0;

  function text(name) {
    return (panel && panel.dataset['text' + name]) || '';
  }

  /* ---------- IndexedDB ---------- */

  var dbPromise = null;

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: 'uuid' });
        };
        request.onsuccess = function () {
          var db = request.result;
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        request.onerror = function () { dbPromise = null; reject(request.error); };
        request.onblocked = function () { dbPromise = null; reject(new Error('blocked')); };
      });
    }
    return dbPromise;
  }

  function run(mode, job) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = job(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function getAll() { return run('readonly', function (s) { return s.getAll(); }); }
  function getOne(uuid) { return run('readonly', function (s) { return s.get(uuid); }); }
  function save(entry) { return run('readwrite', function (s) { s.put(entry); }).then(changed); }
  function drop(uuid) { return run('readwrite', function (s) { s.delete(uuid); }).then(changed); }

  function changed() {
    if (channel) channel.postMessage('changed');
    return render();
  }

  function mine(entries) {
    // A shared phone: only the signed-in person's entries are listed and sent (all on the offline page).
    return owner ? entries.filter(function (e) { return e.owner === owner; }) : entries;
  }

  /* ---------- photos ---------- */

  function newUuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // EXIF DateTimeOriginal (with OffsetTimeOriginal when the camera wrote it) as ISO 8601, or null.
  // Reads the first 128 KB only; any malformed structure ends in null, never an error.
  function exifTime(file) {
    return file.slice(0, 131072).arrayBuffer().then(function (buffer) {
      var view = new DataView(buffer);
      if (view.getUint16(0) !== 0xffd8) return null;
      var pos = 2;
      while (pos + 10 <= view.byteLength) {
        var marker = view.getUint16(pos);
        if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null; // image data: no EXIF
        if (marker === 0xffe1 && view.getUint32(pos + 4) === 0x45786966) return readTiff(view, pos + 10);
        pos += 2 + view.getUint16(pos + 2);
      }
      return null;
    }).catch(function () { return null; });
  }

  function readTiff(view, start) {
    var little = view.getUint16(start) === 0x4949;
    function u16(at) { return view.getUint16(start + at, little); }
    function u32(at) { return view.getUint32(start + at, little); }
    function tags(ifd) {
      var found = {};
      for (var i = 0, n = u16(ifd); i < n; i++) {
        var at = ifd + 2 + i * 12;
        found[u16(at)] = { type: u16(at + 2), count: u32(at + 4), at: at + 8 };
      }
      return found;
    }
    function ascii(entry) {
      if (!entry || entry.type !== 2 || entry.count > 64) return '';
      var at = entry.count > 4 ? u32(entry.at) : entry.at;
      var out = '';
      for (var i = 0; i < entry.count; i++) {
        var c = view.getUint8(start + at + i);
        if (!c) break;
        out += String.fromCharCode(c);
      }
      return out;
    }
    var pointer = tags(u32(4))[0x8769];
    if (!pointer) return null;
    var exif = tags(u32(pointer.at));
    var m = /^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(ascii(exif[0x9003]));
    if (!m) return null;
    var offset = ascii(exif[0x9011]);
    return m[1] + '-' + m[2] + '-' + m[3] + 'T' + m[4] + ':' + m[5] + ':' + m[6] +
      (/^[+-]\d\d:\d\d$/.test(offset) ? offset : '');
  }

  // Decoded upright: createImageBitmap applies the EXIF orientation when asked; an <img> does by default.
  function decode(file) {
    var viaImg = function () {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.src = url;
      return img.decode().then(function () {
        return { image: img, width: img.naturalWidth, height: img.naturalHeight, done: function () { URL.revokeObjectURL(url); } };
      });
    };
    if (!window.createImageBitmap) return viaImg();
    return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bitmap) {
      return { image: bitmap, width: bitmap.width, height: bitmap.height, done: function () { bitmap.close(); } };
    }, viaImg);
  }

  function shrink(file) {
    return decode(file).then(function (d) {
      var scale = Math.min(1, MAX_SIDE / Math.max(d.width, d.height));
      var canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(d.width * scale));
      canvas.height = Math.max(1, Math.round(d.height * scale));
      var ctx = canvas.getContext('2d');
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(d.image, 0, 0, canvas.width, canvas.height);
      d.done();
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) {
          canvas.width = canvas.height = 0; // let a phone free the pixels now
          if (blob) resolve(blob); else reject(new Error('encode'));
        }, 'image/jpeg', QUALITY);
      });
    });
  }

  function preparePhoto(file, person) {
    return exifTime(file).then(function (captured) {
      return shrink(file).then(function (small) {
        // A small JPEG stays as it is (the server strips its metadata); anything undecodable here
        // (HEIC on most browsers) is sent as it came, and the server decides.
        return file.type === 'image/jpeg' && file.size <= small.size ? file : small;
      }, function () { return file; }).then(function (blob) {
        return blob.arrayBuffer().then(function (data) {
          return {
            uuid: newUuid(), person: person || '', captured: captured || '',
            type: blob.type || 'application/octet-stream', data: data, sent: false
          };
        });
      });
    });
  }

  /* ---------- entries from the forms ---------- */

  function heading() {
    var h1 = document.querySelector('main h1');
    return h1 ? h1.textContent.trim() : '';
  }

  function checkinDraft(form) {
    var fd = new FormData(form);
    var seen = {};
    var dishes = fd.getAll('dish').concat(String(fd.get('extra_dishes') || '').split(DISH_SPLIT))
      .map(function (d) { return String(d).normalize('NFKC').replace(/\s+/g, ' ').trim(); })
      .filter(function (d) {
        var key = d.toLowerCase();
        if (!d || seen[key]) return false;
        seen[key] = true;
        return true;
      });
    var files = [].slice.call(form.querySelector('input[type=file]').files || []);
    // Nothing to send, or something missing: post the form, and the server names what is wrong.
    if (!dishes.length || !files.length || !fd.get('day') || !fd.get('slot')) return null;
    return {
      kind: 'checkin',
      uuid: String(fd.get('client_uuid')),
      label: heading() + ' · ' + fd.get('day'),
      person: form.dataset.person,
      files: files.slice(0, 1),
      body: { agreement_id: Number(form.dataset.agreement), slot: fd.get('slot'), day: fd.get('day'), dishes: dishes }
    };
  }

  // "2026-11-25T15:30" typed in the programme's zone, with that zone's UTC offset at that moment.
  function withOffset(local, zone) {
    var m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(local || '');
    if (!m) return null;
    var wall = Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5]);
    var offsetAt;
    try {
      var fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit'
      });
      offsetAt = function (instant) {
        var p = {};
        fmt.formatToParts(new Date(instant)).forEach(function (x) { p[x.type] = x.value; });
        return Date.UTC(+p.year, p.month - 1, +p.day, +p.hour % 24, +p.minute) - instant;
      };
    } catch (e) {
      offsetAt = function (instant) { return -new Date(instant).getTimezoneOffset() * 60000; };
    }
    var offset = offsetAt(wall);
    offset = offsetAt(wall - offset); // once more, in case a clock change lies in between
    var minutes = Math.abs(offset) / 60000;
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return m[0] + ':00' + (offset < 0 ? '-' : '+') + pad(Math.floor(minutes / 60)) + ':' + pad(minutes % 60);
  }

  function visitDraft(form) {
    var fd = new FormData(form);
    var select = form.querySelector('select[name=pairing_id]');
    var option = select ? select.options[select.selectedIndex] : null;
    var visitedAt = withOffset(String(fd.get('visited_at') || ''), form.dataset.timeZone);
    var areas = fd.getAll('need_area');
    var files = [].slice.call((form.querySelector('input[type=file]') || {}).files || []);
    if (!option || !visitedAt || !areas.length || files.length > Number(form.dataset.maxPhotos || 6)) return null;
    return {
      kind: 'visit',
      uuid: String(fd.get('client_uuid')),
      label: heading() + ' · ' + option.textContent.trim() + ' · ' + String(fd.get('visited_at')).replace('T', ' '),
      person: option.dataset.child,
      files: files,
      body: {
        pairing_id: Number(option.value),
        visited_at: visitedAt,
        duration_minutes: Number(fd.get('duration_minutes')),
        need_areas: areas,
        checklist_item_ids: fd.getAll('checklist').map(Number),
        note: String(fd.get('note') || '')
      }
    };
  }

  function deliveryDraft(form) {
    var fd = new FormData(form);
    var select = form.querySelector('select[name=plan_item_id]');
    var option = select ? select.options[select.selectedIndex] : null;
    var day = String(fd.get('delivered_on') || '');
    var files = [].slice.call((form.querySelector('input[type=file]') || {}).files || []);
    if (!option || !/^\d{4}-\d\d-\d\d$/.test(day) || files.length > Number(form.dataset.maxPhotos || 6)) return null;
    return {
      kind: 'delivery',
      uuid: String(fd.get('client_uuid')),
      label: heading() + ' · ' + option.textContent.trim() + ' · ' + day,
      person: form.dataset.person,
      files: files,
      body: {
        plan_item_id: Number(option.value),
        delivered_on: day,
        minutes: Number(fd.get('minutes')),
        people_count: Number(fd.get('people_count')),
        delivered_by: String(fd.get('delivered_by') || ''),
        at_home: fd.get('at_home') !== null,
        note: String(fd.get('note') || '')
      }
    };
  }

  // A pillar mother's group contact: its photo (at most one) is about nobody, so it is sent without person_id.
  function contactDraft(form) {
    var fd = new FormData(form);
    var day = String(fd.get('contacted_on') || '');
    var channel = String(fd.get('channel') || '');
    var files = [].slice.call((form.querySelector('input[type=file]') || {}).files || []);
    if (!/^\d{4}-\d\d-\d\d$/.test(day) || !channel || files.length > Number(form.dataset.maxPhotos || 1)) return null;
    return {
      kind: 'contact',
      uuid: String(fd.get('client_uuid')),
      label: heading() + ' · ' + day,
      person: '',
      files: files,
      body: {
        file_id: Number(form.dataset.file),
        contacted_on: day,
        channel: channel,
        minutes: Number(fd.get('minutes')),
        note: String(fd.get('note') || '')
      }
    };
  }

  var API_PATHS = {
    visit: '/api/visits/', delivery: '/api/deliveries/', checkin: '/api/checkins/', contact: '/api/contacts/'
  };
  var DRAFTS = { visit: visitDraft, delivery: deliveryDraft, checkin: checkinDraft, contact: contactDraft };

  /* ---------- sending ---------- */

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute('hx-headers') || '{}')['x-csrftoken'] || '';
    } catch (e) {
      return '';
    }
  }

  function send(url, body, type) {
    return fetch(url, {
      method: 'PUT',
      body: body,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': type, 'X-CSRFToken': csrfToken(), Accept: 'application/json' }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) return { kind: 'sent', data: data };
        if (response.status === 401) return { kind: 'signin' };
        if (response.status === 408 || response.status === 429 || response.status >= 500) return { kind: 'retry' };
        return { kind: 'refused', status: response.status, message: data.detail || String(response.status) };
      });
    }, function () {
      return { kind: 'offline' };
    });
  }

  function settle(entry, result) {
    if (result.kind === 'sent') return drop(entry.uuid).then(function () { return result; });
    if (result.kind !== 'refused') return result;
    entry.state = 'refused';
    entry.message = result.message;
    entry.status = result.status;
    return save(entry).then(function () { return result; });
  }

  // Sends one entry, photos first; re-read inside the lock, since another tab may have sent it.
  function deliver(uuid) {
    return getOne(uuid).then(function (entry) {
      if (!entry || entry.state !== 'pending') return { kind: 'gone' };
      var photos = entry.photos.slice();
      var next = function () {
        var photo = photos.shift();
        if (!photo) {
          var body = Object.assign({}, entry.body, { photo_uuids: entry.photos.map(function (p) { return p.uuid; }) });
          var path = (API_PATHS[entry.kind] || API_PATHS.checkin) + entry.uuid;
          return send(path, JSON.stringify(body), 'application/json').then(function (r) { return settle(entry, r); });
        }
        if (photo.sent) return next();
        var query = new URLSearchParams();
        if (photo.person) query.set('person_id', photo.person);
        if (photo.captured) query.set('captured_at', photo.captured);
        var blob = new Blob([photo.data], { type: photo.type });
        return send('/api/photos/' + photo.uuid + '?' + query, blob, photo.type).then(function (r) {
          if (r.kind !== 'sent') return settle(entry, r);
          photo.sent = true;
          return save(entry).then(next);
        });
      };
      return next();
    });
  }

  function exclusive(uuid, job) {
    if (inFlight.has(uuid)) return Promise.resolve({ kind: 'busy' });
    inFlight.add(uuid);
    var work = navigator.locks
      ? navigator.locks.request('carelog-outbox-' + uuid, { ifAvailable: true }, function (lock) {
        return lock ? job() : { kind: 'busy' };
      })
      : job();
    return Promise.resolve(work).then(function (result) {
      inFlight.delete(uuid);
      return result;
    }, function (error) {
      inFlight.delete(uuid);
      throw error;
    });
  }

  var flushing = null;

  function flush() {
    if (!owner || !csrfToken() || !window.indexedDB) return Promise.resolve();
    if (flushing) return flushing;
    flushing = getAll().then(function (entries) {
      var waiting = mine(entries).filter(function (e) { return e.state === 'pending'; });
      var sentAny = false;
      var loop = function () {
        var entry = waiting.shift();
        if (!entry) return sentAny ? text('Sent') : note;
        return exclusive(entry.uuid, function () { return deliver(entry.uuid); }).then(function (r) {
          if (r.kind === 'offline' || r.kind === 'retry') return text('Offline');
          if (r.kind === 'signin') return text('Signin');
          if (r.kind === 'refused') return text('Refused') + ' ' + r.message;
          if (r.kind === 'sent') sentAny = true;
          return loop();
        });
      };
      return waiting.length ? loop() : note;
    }).then(function (message) {
      note = message;
      retryLater(message === text('Offline'));
    }, function () {}).then(function () {
      flushing = null;
      return render();
    });
    return flushing;
  }

  // Without a connection, try again by itself: after 10 s, then twice as long each time, up to 5 min
  // ("online" events are not reliable on every phone, and the server may be busy).
  var retryDelay = 10000;
  var retryTimer = null;
  function retryLater(failed) {
    window.clearTimeout(retryTimer);
    if (!failed) { retryDelay = 10000; return; }
    retryTimer = window.setTimeout(flush, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 300000);
  }

  /* ---------- the page ---------- */

  function item(entry) {
    var li = document.createElement('li');
    li.className = 'outbox-item' + (entry.state === 'refused' ? ' refused' : '');
    li.dataset.uuid = entry.uuid;
    var title = document.createElement('strong');
    title.textContent = entry.label;
    var state = document.createElement('span');
    state.className = 'outbox-state';
    state.textContent = entry.state === 'refused'
      ? text('Refused') + ' ' + entry.message
      : inFlight.has(entry.uuid) ? text('Sending') : text('Pending');
    var remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'button secondary';
    remove.textContent = text('Remove');
    remove.addEventListener('click', function () {
      if (window.confirm(text('ConfirmRemove'))) drop(entry.uuid);
    });
    li.append(title, state, remove);
    return li;
  }

  function render() {
    if (!panel || !window.indexedDB) return Promise.resolve();
    return getAll().catch(function () { return null; }).then(function (all) {
      if (!all) return; // storage unreadable this moment: keep showing what was shown
      var entries = mine(all);
      count = entries.length;
      panel.querySelector('.outbox-list').replaceChildren.apply(panel.querySelector('.outbox-list'), entries.map(item));
      panel.querySelector('.outbox-status').textContent = note;
      panel.hidden = !entries.length && !note;
      var badge = document.getElementById('outbox-badge');
      if (badge) {
        badge.hidden = !entries.length;
        badge.querySelector('.outbox-count').textContent = String(entries.length);
      }
    });
  }

  function show(message) {
    note = message;
    return render().then(function () {
      panel.hidden = false;
      panel.scrollIntoView({ block: 'start' });
      panel.focus({ preventScroll: true });
    });
  }

  function sentUrl(draft, data) {
    if (draft.kind === 'visit' || draft.kind === 'delivery') return data.url + '?sent=1';
    if (draft.kind === 'contact') return data.url;
    return '/meals/history?month=' + data.day.slice(0, 7) + '&sent=' + data.id + '#checkin-' + data.id;
  }

  function submitDraft(form, draft) {
    var button = form.querySelector('[type=submit]');
    var files = draft.files;
    delete draft.files;
    button.disabled = true;
    show(text('Preparing'));
    var photos = [];
    var prepared = files.reduce(function (chain, file) {
      // One photo at a time: a 12-megapixel picture decoded takes about 50 MB on a phone.
      return chain.then(function () { return preparePhoto(file, draft.person); }).then(function (p) { photos.push(p); });
    }, Promise.resolve());
    prepared.then(function () {
      draft.photos = photos;
      draft.owner = owner;
      draft.state = 'pending';
      draft.created = Date.now();
      return save(draft);
    }).then(function () {
      keep();
      var fresh = form.querySelector('input[name=client_uuid]');
      fresh.value = newUuid(); // this form's next entry is a new one
      return exclusive(draft.uuid, function () { return deliver(draft.uuid); });
    }, function () {
      // This browser cannot keep the entry (no storage): post it as the plain form would.
      button.disabled = false;
      form.submit();
      return null;
    }).then(function (result) {
      if (!result) return;
      button.disabled = false;
      if (result.kind === 'sent') {
        note = '';
        window.carelogOutbox.leaving = true;
        window.location.assign(sentUrl(draft, result.data));
        return;
      }
      if (result.kind === 'refused') {
        // She is looking at the page: say it here, and keep the form as she filled it to correct it.
        return drop(draft.uuid).then(function () { return show(text('Refused') + ' ' + result.message); });
      }
      if (result.kind !== 'busy') {
        form.reset();
        return show(result.kind === 'signin' ? text('Signin') : text('Saved'));
      }
    });
  }

  // Ask once that the browser keep this site's storage under pressure, and for a Background Sync.
  function keep() {
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persisted().then(function (yes) { if (!yes) navigator.storage.persist(); }).catch(function () {});
    }
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.sync) return reg.sync.register('carelog-outbox');
      }).catch(function () {});
    }
  }

  function enhance(form) {
    form.addEventListener('submit', function (event) {
      if (!window.indexedDB || !window.fetch || !owner) return;
      var draft = (DRAFTS[form.dataset.outbox] || checkinDraft)(form);
      if (!draft) return;
      event.preventDefault();
      submitDraft(form, draft);
    });
  }

  window.carelogOutbox = {
    leaving: false,
    count: function () { return count; },
    flush: flush,
    exifTime: exifTime,
    withOffset: withOffset
  };

  if (!window.indexedDB) return;
  [].forEach.call(document.querySelectorAll('form[data-outbox]'), enhance);
  var sendNow = document.getElementById('outbox-send');
  if (sendNow) sendNow.addEventListener('click', function () { note = ''; flush(); });
  window.addEventListener('online', function () { flush(); });
  if (channel) channel.onmessage = function () { render(); };
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener('message', function (event) {
      if (event.data && event.data.type === 'carelog-flush') flush();
    });
  }
  render().then(flush);
})();
