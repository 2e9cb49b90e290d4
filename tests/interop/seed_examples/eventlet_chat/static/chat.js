// Browser side of the seed chat: send a line, show every line broadcast by the server.
window.addEventListener('DOMContentLoaded', () => {
  const socket = io({ auth: { name: 'browser' } });
  const log = document.getElementById('log');
  socket.on('chat_message', (msg) => {
    const item = document.createElement('li');
    item.textContent = `${msg.from}: ${msg.text}`;
    log.appendChild(item);
  });
  document.getElementById('send').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('text');
    socket.emit('chat_message', { text: input.value });
    input.value = '';
  });
});
