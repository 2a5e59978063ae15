export * from '../../simulator/payment-driver.js';
