// The P6 figures' HTTP app (Doppel.Bench --p6), both as the pod's app and as a developer's local
// app: node p6app.js NAME H1PORT H2CPORT answers every request with "NAME\n" (HTTP/1.1 keep-alive
// on H1PORT, HTTP/2 with prior knowledge on H2CPORT) and prints "listening PID" once both listen.
// With a 4th argument "count" (the mirror session's app): prints "mirrored" at the first HTTP/1.1
// request for /ready, counts the other HTTP/1.1 requests, and at the line "exit" on stdin (or its
// end) prints "received N" and exits.
'use strict';
const http = require('http');
const http2 = require('http2');

const [name, h1Port, h2cPort, mode] = process.argv.slice(2);
const counting = mode === 'count';
let received = 0;
let mirrored = false;
const body = Buffer.from(name + '\n');
const headers = { 'content-type': 'text/plain', 'content-length': body.length };

let listening = 0;
const ready = () => {
  if (++listening === 2) {
    console.log('listening ' + process.pid);
  }
};

const h1 = http.createServer((request, response) => {
  if (counting) {
    if (request.url !== '/ready') {
      received++;
    } else if (!mirrored) {
      mirrored = true;
      console.log('mirrored');
    }
  }
  request.resume();
  request.on('end', () => {
    response.writeHead(200, headers);
    response.end(body);
  });
});
h1.keepAliveTimeout = 60000;
h1.listen(Number(h1Port), ready);

const h2c = http2.createServer();
h2c.on('stream', (stream) => {
  stream.resume();
  stream.on('end', () => {
    stream.respond({ ':status': 200, ...headers });
    stream.end(body);
  });
});
h2c.listen(Number(h2cPort), ready);

if (counting) {
  const exit = () => {
    console.log('received ' + received);
    process.exit(0);
  };
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    input += chunk;
    if (input.includes('exit\n')) {
      exit();
    }
  });
  process.stdin.on('end', exit);
}
