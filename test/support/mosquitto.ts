export * from '../../simulator/mosquitto.js';
