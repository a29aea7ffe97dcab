// The P6 figures' HTTP app (Doppel.Bench --p6), both as the pod's app and as a developer's local
// app: node p6app.js NAME H1PORT H2CPORT answers every request with "NAME\n" (HTTP/1.1 keep-alive
// on H1PORT, HTTP/2 with prior knowledge on H2CPORT) and prints "listening PID" once both listen.
'use strict';
const http = require('http');
const http2 = require('http2');

const [name, h1Port, h2cPort] = process.argv.slice(2);
const body = Buffer.from(name + '\n');
const headers = { 'content-type': 'text/plain', 'content-length': body.length };

let listening = 0;
const ready = () => {
  if (++listening === 2) {
    console.log('listening ' + process.pid);
  }
};

const h1 = http.createServer((request, response) => {
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
